//go:build !hullinit

package initbin

// embedded is empty in a plain `go build ./cmd/hull`: containers then start `hull init`.
var embedded []byte
