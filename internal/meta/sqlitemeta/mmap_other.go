//go:build !unix

package sqlitemeta

import "os"

// mapHeader maps nothing here: the caller reads the file.
func mapHeader(*os.File, int) []byte { return nil }

func unmapHeader([]byte) error { return nil }
