// Package modelsig verifies OpenSSF Model Signing (OMS) v1.0 signatures
// offline: the detached `model.sig` files written by sigstore's
// model-transparency (`model_signing sign key|certificate`) and by any
// OMS-conformant signer. It also creates them ([Sign]), for tests and for
// an `agora sign`-style tool.
//
// # Format
//
// A model.sig is a Sigstore bundle (JSON, camelCase protobuf field names)
// holding a DSSE envelope whose payload is an in-toto Statement v1:
//
//	{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//	 "verificationMaterial": {"publicKey": {"hint": "<hex sha256 of the PEM SPKI>"}
//	                      or {"x509CertificateChain": {"certificates": [{"rawBytes": "<b64 DER leaf>"}, …]}},
//	 "dsseEnvelope": {"payloadType": "application/vnd.in-toto+json",
//	                  "payload": "<b64 statement>",
//	                  "signatures": [{"sig": "<b64 ASN.1 ECDSA over PAE>", "keyid": ""}]}}
//
//	statement = {"_type": "https://in-toto.io/Statement/v1",
//	  "subject": [{"name": "<model dir basename>", "digest": {"sha256": "<root>"}}],
//	  "predicateType": "https://model_signing/signature/v1.0",
//	  "predicate": {"resources": [{"name": "<path>", "algorithm": "sha256", "digest": "<hex>"}, …],
//	                "serialization": {"method": "files", "hash_type": "sha256",
//	                                  "allow_symlinks": false, "ignore_paths": [".git", …]}}}
//
// root = SHA-256 of the concatenated raw resource digests, in the order
// the resources are listed (signers sort them by name, in code-point
// order).
//
// # What Verify checks
//
//  1. The bundle: at most [MaxBundleSize] bytes, valid UTF-8, valid JSON
//     with no duplicate object keys (compared case-insensitively, since
//     encoding/json matches field names that way) and no unknown fields in
//     the parts this package models; a known Sigstore bundle media type;
//     exactly one kind of verification material; a DSSE envelope (not a
//     messageSignature) with exactly one signature; payloadType
//     application/vnd.in-toto+json.
//  2. The signature, by method:
//     - key: the ECDSA (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512)
//     signature over the DSSE PAE verifies with one of [Verifier.Keys].
//     The bundle's publicKey.hint selects the candidate keys (the hint of a
//     key is [KeyHint]); a pre-v1.1 bundle's publicKey.rawBytes must equal
//     a configured key; a bundle with neither is tried against every
//     configured key. The key embedded in a bundle is never trusted by
//     itself.
//     - certificate: the leaf of x509CertificateChain chains, through the
//     bundle's other certificates and [Verifier.Intermediates], to
//     [Verifier.Roots], every certificate valid at [Verifier.CurrentTime];
//     the chain allows the code-signing extended key usage; the leaf's
//     KeyUsage, when present, includes digitalSignature, and the leaf
//     carries digitalSignature or codeSigning explicitly (the rule of
//     model-transparency); the ECDSA signature over the PAE verifies with
//     the leaf's key.
//     - Model-transparency v0.2 signed a faulty PAE (the payload's Python
//     repr, "DSSEV1", SHA-256 whatever the curve). That encoding is
//     accepted, and reported in [Result.LegacyPAE], only for payloads with
//     the v0.1 predicate, which only v0.2 wrote.
//  3. The payload: an in-toto Statement v1 with predicate
//     https://model_signing/signature/v1.0 (or the deprecated
//     https://model_signing/Digests/v0.1 of model-transparency v0.2,
//     reported as [Manifest.Legacy]); exactly one subject with a non-empty
//     name and a SHA-256 root digest equal to the one recomputed from the
//     resources; at least one resource, no duplicate names, known hash
//     algorithms (sha256, blake2b, blake3; "blake2" is read as blake2b),
//     digests of the right length; serialization method "files" or
//     "shards" with the fields each requires, and shard names of the form
//     "<path>:<start>:<end>" that tile each file in shard_size steps.
//
// [Compare] then matches the manifest against the files of a repository
// revision, given as SHA-256 digests: for an LFS file the digest is its
// LFS oid, so a multi-gigabyte model is verified without reading it. It
// applies the OMS exclusions: the top-level .git, .gitignore,
// .gitattributes and .github, the signed serialization.ignore_paths
// (exact paths and their subtrees), the signature file model.sig at the
// root, and whatever the caller's ignore function excludes (the path of
// the signature when it is elsewhere). Files a SHA-256 cannot check
// (blake2b/blake3 digests, files split into several shards) are listed as
// Unchecked; [Manifest.CheckFile] hashes such a file from a reader for
// SHA-256 shards.
//
// # Signing time and certificate validity
//
// Offline there is no trustworthy signing time: a bundle signed with a
// key or a certificate carries no transparency-log entry that this package
// could authenticate (checking Rekor's signed entry timestamp needs the
// log's key, which is out of scope here), so the bundle's integratedTime,
// if any, is ignored. Certificates are checked at [Verifier.CurrentTime]
// (time.Now by default), which is what OMS §8.2 asks ("the leaf MUST be
// within its validity period"). model-transparency instead checks the
// chain at the leaf's notBefore, which accepts expired certificates; we
// do not, because then a leaked key of an expired certificate could still
// sign. A hub that re-verifies an old revision later should pass the time
// it received the commit as CurrentTime: that is a time the hub vouches
// for and the signer cannot choose.
//
// # Out of scope
//
//   - Sigstore keyless signatures (a short-lived Fulcio certificate and a
//     Rekor entry): verifying them offline needs a pinned Sigstore
//     trusted_root.json and the transparency-log and SCT checks of
//     sigstore-go. [Verifier.Verify] reports them with [ErrUnsupported]
//     (the bundle is parsed, so the identity can still be shown as
//     unverified).
//   - Online checks of any kind: Fulcio, Rekor inclusion or monitoring,
//     certificate revocation (CRL/OCSP), TUF refresh of trust roots.
//   - Hashing with blake2b or blake3 (the standard library has neither).
//   - Symbolic links: a git symlink is a blob holding the target path, so
//     its digest is not the target's and a manifest signed with
//     allow_symlinks true will show such files as mismatched.
//
// The package does no I/O beyond the readers its callers hand it, imports
// no internal package and never panics on untrusted input.
package modelsig
