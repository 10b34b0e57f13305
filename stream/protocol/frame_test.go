package protocol

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

func TestFrameReaderEOF(t *testing.T) {
	frame, _ := Append(nil, &Shutdown{})
	fr := NewFrameReader(bytes.NewReader(frame), 0)
	if _, err := fr.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if _, err := fr.ReadFrame(); err != io.EOF {
		t.Fatalf("clean end: want io.EOF, got %v", err)
	}
	fr = NewFrameReader(bytes.NewReader(frame[:3]), 0)
	if _, err := fr.ReadFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("end inside the length: want ErrUnexpectedEOF, got %v", err)
	}
	fr = NewFrameReader(bytes.NewReader([]byte{0, 0, 0, 9, 5}), 0)
	if _, err := fr.ReadFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("end inside the payload: want ErrUnexpectedEOF, got %v", err)
	}
}

func TestOversizedFrameIsRefusedWithoutAllocating(t *testing.T) {
	// A 4 GiB announcement must be refused before any allocation of that
	// size: ten refusals may cost the readers' buffers, nothing near 4 GiB.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		fr := NewFrameReader(bytes.NewReader([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x03}), 1<<20)
		if _, err := fr.ReadFrame(); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("want ErrFrameTooLarge, got %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Fatalf("refusing oversized frames allocated %d bytes", grew)
	}
	fr := NewFrameReader(bytes.NewReader([]byte{0xFF, 0xFF, 0xFF, 0xFF}), 1<<20)
	_, err := fr.ReadFrame()
	if want := "frame too large: 4294967295 bytes announced, limit is 1048576"; err == nil || err.Error() != want {
		t.Fatalf("error text: got %v, want %q", err, want)
	}
}

func TestDecodedBytesDoNotShareCapacity(t *testing.T) {
	frame, _ := Append(nil, &Batch{ID: 1, Records: []Record{{Key: []byte("k"), Value: []byte("v")}, {Key: []byte("x")}}})
	m, err := Decode(frame[4:])
	if err != nil {
		t.Fatal(err)
	}
	b := m.(*Batch)
	_ = append(b.Records[0].Key, "OVERWRITE"...)
	if string(b.Records[0].Value) != "v" || string(b.Records[1].Key) != "x" {
		t.Fatal("appending to a decoded key overwrote its neighbours")
	}
}
