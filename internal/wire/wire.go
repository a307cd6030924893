// Package wire holds the JSON shapes of the Hugging Face Hub API and of the
// git-lfs batch API, exactly as the official clients parse them (field
// names, casing, omitted vs null). Shared by the server and the client; no
// logic and no imports beyond the standard library.
package wire

import "encoding/json"

// WhoAmI is the answer of GET /api/whoami-v2.
type WhoAmI struct {
	ID            string     `json:"id"`
	Type          string     `json:"type"`
	Name          string     `json:"name"`
	Fullname      string     `json:"fullname"`
	Email         *string    `json:"email"`
	EmailVerified bool       `json:"emailVerified"`
	IsPro         bool       `json:"isPro"`
	CanPay        bool       `json:"canPay"`
	AvatarURL     string     `json:"avatarUrl"`
	PeriodEnd     *string    `json:"periodEnd"`
	Orgs          []any      `json:"orgs"`
	Auth          WhoAmIAuth `json:"auth"`
	IsAdmin       bool       `json:"isAdmin,omitempty"`
}

// WhoAmIAuth describes the credential used.
type WhoAmIAuth struct {
	Type        string             `json:"type"`
	AccessToken *WhoAmIAccessToken `json:"accessToken,omitempty"`
	ExpiresAt   *string            `json:"expiresAt,omitempty"`
}

// WhoAmIAccessToken describes an access token.
type WhoAmIAccessToken struct {
	DisplayName string       `json:"displayName"`
	Role        string       `json:"role"` // read, write or fineGrained
	CreatedAt   string       `json:"createdAt"`
	ExpiresAt   *string      `json:"expiration,omitempty"`
	FineGrained *FineGrained `json:"fineGrained,omitempty"`
}

// FineGrained lists a fine-grained token's permissions.
type FineGrained struct {
	CanReadGatedRepos bool               `json:"canReadGatedRepos"`
	Global            []string           `json:"global"`
	Scoped            []FineGrainedScope `json:"scoped"`
}

// FineGrainedScope grants permissions on one entity.
type FineGrainedScope struct {
	Entity      FineGrainedEntity `json:"entity"`
	Permissions []string          `json:"permissions"`
}

// FineGrainedEntity is a user, organisation or repository.
type FineGrainedEntity struct {
	ID   string `json:"_id"`
	Type string `json:"type"`
	Name string `json:"name"`
}

// LFSInfo is the lfs object of a tree entry (oid = SHA-256).
type LFSInfo struct {
	OID         string `json:"oid"`
	Size        int64  `json:"size"`
	PointerSize int64  `json:"pointerSize"`
}

// LastCommit is a tree entry's last change.
type LastCommit struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Date  string `json:"date"`
}

// TreeEntry is one entry of the tree and paths-info endpoints.
type TreeEntry struct {
	Type               string          `json:"type"`
	OID                string          `json:"oid"`
	Size               int64           `json:"size"`
	Path               string          `json:"path"`
	LFS                *LFSInfo        `json:"lfs,omitempty"`
	XetHash            string          `json:"xetHash,omitempty"` // Xet file hash of an LFS file stored through Xet
	LastCommit         *LastCommit     `json:"lastCommit,omitempty"`
	SecurityFileStatus json.RawMessage `json:"securityFileStatus,omitempty"`
}

// SiblingLFS is the lfs object of a sibling (note: sha256, not oid).
type SiblingLFS struct {
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	PointerSize int64  `json:"pointerSize"`
}

// Sibling is a file listed in repo info.
type Sibling struct {
	RFilename string      `json:"rfilename"`
	Size      *int64      `json:"size,omitempty"`
	BlobID    string      `json:"blobId,omitempty"`
	LFS       *SiblingLFS `json:"lfs,omitempty"`
}

// Ref is an item of the refs endpoint.
type Ref struct {
	Name         string `json:"name"`
	Ref          string `json:"ref"`
	TargetCommit string `json:"targetCommit"`
}

// Refs is the answer of the refs endpoint.
type Refs struct {
	Branches     []Ref  `json:"branches"`
	Converts     []Ref  `json:"converts"`
	Tags         []Ref  `json:"tags"`
	PullRequests *[]Ref `json:"pullRequests,omitempty"`
}

// CommitAuthor is an author of a listed commit.
type CommitAuthor struct {
	User   string `json:"user"`
	Avatar string `json:"avatar,omitempty"`
}

// Commit is an item of the commits endpoint.
type Commit struct {
	ID        string           `json:"id"`
	Title     string           `json:"title"`
	Message   string           `json:"message"`
	Authors   []CommitAuthor   `json:"authors"`
	Date      string           `json:"date"`
	Parents   []string         `json:"parents,omitempty"`
	Formatted *CommitFormatted `json:"formatted,omitempty"`
}

// CommitFormatted is the HTML-formatted title and message.
type CommitFormatted struct {
	Title   string `json:"title"`
	Message string `json:"message"`
}

// CreateRepoRequest is the body of POST /api/repos/create.
type CreateRepoRequest struct {
	Name         string  `json:"name"`
	Organization *string `json:"organization"`
	Type         string  `json:"type"`
	Private      *bool   `json:"private"`
	Visibility   string  `json:"visibility"`
	SDK          string  `json:"sdk"`
	Files        []struct {
		Path     string `json:"path"`
		Content  string `json:"content"`
		Encoding string `json:"encoding"`
	} `json:"files"`
}

// CreateRepoResponse answers it.
type CreateRepoResponse struct {
	URL  string `json:"url"`
	Name string `json:"name"`
	ID   string `json:"id"`
}

// RepoNameRequest is the body of DELETE /api/repos/delete.
type RepoNameRequest struct {
	Name         string  `json:"name"`
	Organization *string `json:"organization"`
	Type         string  `json:"type"`
}

// MoveRepoRequest is the body of POST /api/repos/move.
type MoveRepoRequest struct {
	FromRepo string `json:"fromRepo"`
	ToRepo   string `json:"toRepo"`
	Type     string `json:"type"`
}

// SettingsRequest is the body of PUT /api/{type}s/{id}/settings.
type SettingsRequest struct {
	Private        *bool           `json:"private"`
	Visibility     string          `json:"visibility"`
	Gated          json.RawMessage `json:"gated"`
	AllowForcePush *bool           `json:"allowForcePush"`
}

// PreuploadRequest is the body of the preupload endpoint.
type PreuploadRequest struct {
	Files []struct {
		Path   string `json:"path"`
		Sample string `json:"sample"`
		Size   int64  `json:"size"`
	} `json:"files"`
	GitAttributes *string `json:"gitAttributes"`
	GitIgnore     *string `json:"gitIgnore"`
}

// PreuploadFile is one answer item of preupload.
type PreuploadFile struct {
	Path         string  `json:"path"`
	UploadMode   string  `json:"uploadMode"`
	ShouldIgnore bool    `json:"shouldIgnore"`
	OID          *string `json:"oid"`
}

// PreuploadResponse answers preupload.
type PreuploadResponse struct {
	Files     []PreuploadFile `json:"files"`
	CommitOID string          `json:"commitOid"`
}

// CommitLine is one line of the NDJSON commit body.
type CommitLine struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// CommitHeader is the value of the "header" line.
type CommitHeader struct {
	Summary      string `json:"summary"`
	Description  string `json:"description"`
	ParentCommit string `json:"parentCommit"`
}

// CommitFile is the value of "file", "lfsFile", "deletedFile" and
// "deletedFolder" lines.
type CommitFile struct {
	Path     string `json:"path"`
	Content  string `json:"content"`
	Encoding string `json:"encoding"`
	Algo     string `json:"algo"`
	OID      string `json:"oid"`
	Size     *int64 `json:"size"`
}

// CommitResponse answers a commit.
type CommitResponse struct {
	Success        bool   `json:"success"`
	CommitOID      string `json:"commitOid"`
	CommitURL      string `json:"commitUrl"`
	HookOutput     string `json:"hookOutput"`
	PullRequestURL string `json:"pullRequestUrl,omitempty"`
}

// LFSBatchRequest is a git-lfs batch request.
type LFSBatchRequest struct {
	Operation string      `json:"operation"`
	Transfers []string    `json:"transfers"`
	Objects   []LFSObject `json:"objects"`
	HashAlgo  string      `json:"hash_algo"`
	Ref       *struct {
		Name string `json:"name"`
	} `json:"ref"`
}

// LFSObject names an object.
type LFSObject struct {
	OID  string `json:"oid"`
	Size int64  `json:"size"`
}

// LFSAction is where and how to transfer.
type LFSAction struct {
	Href      string            `json:"href"`
	Header    map[string]string `json:"header,omitempty"`
	ExpiresIn int64             `json:"expires_in,omitempty"`
}

// TagInfo is one tag of GET /api/models-tags-by-type and
// /api/datasets-tags-by-type, grouped there by Type.
type TagInfo struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Type  string `json:"type"`
}

// RepoStorage is one element of GET /api/settings/repositories and
// /api/organizations/{org}/settings/repositories (list_user_repos).
type RepoStorage struct {
	ID             string  `json:"id"`
	Type           string  `json:"type"`
	UpdatedAt      string  `json:"updatedAt"`
	Visibility     string  `json:"visibility"`
	Storage        int64   `json:"storage"`
	StoragePercent float64 `json:"storagePercent"`
}

// LFSError is a per-object error.
type LFSError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// LFSBatchObject is one object of a batch answer. Actions is omitted (not
// empty) for objects already stored: huggingface_hub tests for its absence.
type LFSBatchObject struct {
	OID           string                `json:"oid"`
	Size          int64                 `json:"size"`
	Authenticated bool                  `json:"authenticated,omitempty"`
	Actions       map[string]*LFSAction `json:"actions,omitempty"`
	Error         *LFSError             `json:"error,omitempty"`
}

// LFSBatchResponse answers a batch request.
type LFSBatchResponse struct {
	Transfer string           `json:"transfer"`
	Objects  []LFSBatchObject `json:"objects"`
	HashAlgo string           `json:"hash_algo,omitempty"`
}

// LFSCompletion is the body of the multipart completion POST.
type LFSCompletion struct {
	OID   string `json:"oid"`
	Parts []struct {
		PartNumber int    `json:"partNumber"`
		ETag       string `json:"etag"`
	} `json:"parts"`
}

// LFSVerify is the body of the verify POST.
type LFSVerify struct {
	OID  string `json:"oid"`
	Size int64  `json:"size"`
}
