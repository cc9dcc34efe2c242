//go:build hullinit

package initbin

import _ "embed"

// embedded is cmd/hull-init, built by `make build` before hull and given to the compiler with
// -overlay (the file is never in the source tree). A build with the hullinit tag but without
// it fails: "pattern hull-init: no matching files found".
//
//go:embed hull-init
var embedded []byte
