package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// layerSource is one layer to bring into the store.
type layerSource struct {
	open   func() (io.ReadCloser, error) // the blob as shipped: gzip, zstd or plain tar
	digest string                        // digest of that blob; "" when it is not known (trust the diffID)
	diffID string                        // digest of the tar; "" for a plain rootfs tarball (computed)
	size   int64                         // blob size for progress, 0 when unknown
}

// layerInfo is layers/HEX/layer.json.
type layerInfo struct {
	DiffID string `json:"diffID"`
	layerMeta
}

// hasLayer reports whether the layer is unpacked; a layer dir exists only once complete.
func (s *Store) hasLayer(diffID string) bool {
	_, err := os.Stat(filepath.Join(s.layerDir(diffID), "layer.json"))
	return err == nil
}

func (s *Store) layerInfo(diffID string) (*layerInfo, error) {
	var li layerInfo
	if err := readJSON(filepath.Join(s.layerDir(diffID), "layer.json"), &li); err != nil {
		return nil, fmt.Errorf("layer %s: %w", diffID, err)
	}
	return &li, nil
}

// ingest reads a layer blob once: it hashes the blob as shipped, decompresses it, hashes the tar
// and unpacks it, all in one pass, into a directory under tmp/. Only when both digests match does
// the directory move to layers/HEX with one rename(2), so a corrupt, truncated or forged layer
// never appears in the store, and a layer some other process unpacked meanwhile is kept as is.
func (s *Store) ingest(ctx context.Context, src layerSource, count func(int64)) (diffID string, size int64, err error) {
	if src.diffID != "" {
		if err := checkDigest(src.diffID); err != nil {
			return "", 0, err
		}
	}
	tmp, err := s.tmpDir("layer-")
	if err != nil {
		return "", 0, err
	}
	defer os.RemoveAll(tmp)
	diff := filepath.Join(tmp, "diff")
	if err := os.Mkdir(diff, 0o755); err != nil {
		return "", 0, err
	}
	rc, err := src.open()
	if err != nil {
		return "", 0, fmt.Errorf("open layer %s: %w", src.name(), err)
	}
	defer rc.Close()
	blobHash := sha256.New()
	in := io.TeeReader(&ctxReader{ctx: ctx, r: rc, count: count}, blobHash)
	tarStream, closeDec, err := decompress(in)
	if err != nil {
		return "", 0, fmt.Errorf("layer %s: %w", src.name(), err)
	}
	defer closeDec()
	tarHash := sha256.New()
	meta, err := extract(io.TeeReader(tarStream, tarHash), diff, s.privileged)
	if err != nil {
		return "", 0, fmt.Errorf("layer %s: %w", src.name(), err)
	}
	// The decompressor may stop at its own end marker: the digest covers the whole blob.
	if _, err := io.Copy(io.Discard, in); err != nil {
		return "", 0, fmt.Errorf("layer %s: %w", src.name(), err)
	}
	if src.digest != "" {
		if got := sum(blobHash); got != src.digest {
			return "", 0, fmt.Errorf("layer %s: blob digest is %s: corrupt or truncated download", src.digest, got)
		}
	}
	got := sum(tarHash)
	if src.diffID != "" && got != src.diffID {
		return "", 0, fmt.Errorf("layer %s: uncompressed digest is %s, the image config says %s", src.name(), got, src.diffID)
	}
	if err := writeJSON(filepath.Join(tmp, "layer.json"), layerInfo{DiffID: got, layerMeta: meta}); err != nil {
		return "", 0, err
	}
	if err := os.Rename(tmp, s.layerDir(got)); err != nil {
		if !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.ENOTEMPTY) {
			return "", 0, fmt.Errorf("store layer %s: %w", got, err)
		}
		// Another pull unpacked the same layer first: keep theirs, drop ours (deferred).
	}
	s.log.Debug("layer unpacked", "diffID", got, "bytes", meta.Size, "whiteouts", len(meta.Whiteouts))
	return got, meta.Size, nil
}

func (src layerSource) name() string {
	if src.digest != "" {
		return src.digest
	}
	return src.diffID
}

func sum(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// decompress recognises gzip and zstd by their magic numbers (OCI media types say the same, but
// Docker archives and plain tarballs carry none) and passes a plain tar through.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64*1024)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		zr.Multistream(true)
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// ctxReader stops a download when ctx is cancelled and reports progress.
type ctxReader struct {
	ctx   context.Context
	r     io.Reader
	count func(int64)
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if n > 0 && c.count != nil {
		c.count(int64(n))
	}
	return n, err
}
