// Package attachtest makes real attachment files for tests: audio written
// by the go-audio encoder, so that the import reads what a recording
// station would give it.
package attachtest

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// WriteWAV writes a mono 16-bit WAV of a 440 Hz tone, d long, at rate
// samples a second.
func WriteWAV(tb testing.TB, path string, rate int, d time.Duration) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	e := wav.NewEncoder(f, rate, 16, 1, 1)
	n := int(d.Seconds() * float64(rate))
	buf := &audio.IntBuffer{Format: &audio.Format{NumChannels: 1, SampleRate: rate}, SourceBitDepth: 16, Data: make([]int, n)}
	for i := range buf.Data {
		buf.Data[i] = int(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	if err := e.Write(buf); err != nil {
		tb.Fatal(err)
	}
	if err := e.Close(); err != nil {
		tb.Fatal(err)
	}
}
