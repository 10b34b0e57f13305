package protocol

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxFrame bounds a frame when the caller sets no limit: 16 MiB.
const DefaultMaxFrame = 16 << 20

// ErrFrameTooLarge is returned (wrapped) when a length prefix announces more
// than the reader's limit. Nothing is allocated for such a frame.
var ErrFrameTooLarge = errors.New("frame too large")

// FrameReader reads length-prefixed frames with a size limit.
type FrameReader struct {
	r   *bufio.Reader
	max int
}

// NewFrameReader reads frames of at most max payload bytes from r (max <= 0
// means DefaultMaxFrame).
func NewFrameReader(r io.Reader, max int) *FrameReader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &FrameReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// ReadFrame returns the next frame's payload in a newly allocated slice that
// the caller owns. At a clean end of stream it returns io.EOF; a stream that
// ends inside a frame returns io.ErrUnexpectedEOF.
func (fr *FrameReader) ReadFrame() ([]byte, error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(fr.r, lenBuf[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(lenBuf[:])
	if uint64(n) > uint64(fr.max) {
		return nil, fmt.Errorf("%w: %d bytes announced, limit is %d", ErrFrameTooLarge, n, fr.max)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: zero-length frame", ErrMalformed)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(fr.r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return payload, nil
}

// ReadMessage reads and decodes the next frame.
func (fr *FrameReader) ReadMessage() (Message, error) {
	p, err := fr.ReadFrame()
	if err != nil {
		return nil, err
	}
	return Decode(p)
}

// Buffered reports how many bytes are already read from the underlying
// reader but not yet returned: a node uses it to flush its answers only when
// no further input is waiting, which batches its writes.
func (fr *FrameReader) Buffered() int { return fr.r.Buffered() }

// SetMax changes the frame size limit (after the handshake announced it).
func (fr *FrameReader) SetMax(max int) {
	if max > 0 {
		fr.max = max
	}
}
