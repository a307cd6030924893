package s3blob

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/agorahub/agora/internal/blob"
)

// fullCodes are the error codes S3-compatible servers answer when the
// bucket or the cluster cannot take more bytes: MinIO's full disks and
// bucket quotas, Ceph RGW's user and bucket quotas, and the generic
// InsufficientStorage some gateways send. EntityTooLarge is deliberately
// absent: it is a limit on one object's size, not a full store, and the
// hub checks object sizes itself before writing.
var fullCodes = []string{"XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "QuotaExceeded", "InsufficientStorage", "StorageFull"}

// noSpace turns a "storage full" answer of the server into blob.ErrNoSpace
// (the SDK's error stays in the message for the log).
func noSpace(err error) error {
	if err == nil {
		return nil
	}
	full := isCode(err, fullCodes...)
	if re, ok := errors.AsType[interface {
		error
		HTTPStatusCode() int
	}](err); ok && re.HTTPStatusCode() == http.StatusInsufficientStorage {
		full = true
	}
	if full {
		return fmt.Errorf("%w (%v)", blob.ErrNoSpace, err)
	}
	return err
}
