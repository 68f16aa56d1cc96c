package attach

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-audio/wav"
	"github.com/hajimehoshi/go-mp3"
)

// Duration reads the duration of a WAV or MP3 file, in seconds, with the
// maintained decoders; the format is told by the content, not the name.
// Neither decoder holds the file: WAV reads its header, MP3 walks its
// frame headers.
func Duration(p string) (float64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	head := make([]byte, 12)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	switch {
	case len(head) == 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WAVE")):
		d := wav.NewDecoder(f)
		if !d.IsValidFile() {
			return 0, errors.New("заголовок WAV испорчен")
		}
		dur, err := d.Duration()
		if err != nil {
			return 0, fmt.Errorf("длительность WAV не читается: %w", err)
		}
		if dur <= 0 {
			return 0, errors.New("в файле WAV нет звука")
		}
		return dur.Seconds(), nil
	case isMP3(head):
		d, err := mp3.NewDecoder(f)
		if err != nil {
			return 0, fmt.Errorf("MP3 не декодируется: %w", err)
		}
		// The decoder gives 16-bit stereo: 4 bytes a sample.
		if d.Length() <= 0 || d.SampleRate() <= 0 {
			return 0, errors.New("в файле MP3 нет звука")
		}
		return float64(d.Length()) / 4 / float64(d.SampleRate()), nil
	}
	return 0, errors.New("по содержимому это не WAV и не MP3")
}

// isMP3 tells an MP3 by its ID3 tag or the sync word of its first frame.
func isMP3(head []byte) bool {
	if len(head) >= 3 && string(head[:3]) == "ID3" {
		return true
	}
	return len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0
}
