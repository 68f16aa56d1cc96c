// Package localapi is how station commands reach a running daemon: a unix
// socket in the data folder, readable and writable by its owner only. A
// command sends its arguments and working folder, its standard input
// follows, and the daemon runs the same command in-process on the data
// folder it holds, streaming back standard output, standard error and
// the exit status. So a command prints the same and exits the same with
// or without a daemon, and two commands never open the folder at once.
package localapi

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// Request is a command line to run.
type Request struct {
	Args []string `json:"args"`
	Cwd  string   `json:"cwd"` // the caller's working folder, for relative paths
}

// Handler runs one command and returns its exit status. stdout and stderr
// are safe for concurrent use.
type Handler func(ctx context.Context, req Request, stdin io.Reader, stdout, stderr io.Writer) int

// Frame kinds from the daemon.
const (
	frameStdout = 1
	frameStderr = 2
	frameExit   = 3
)

// maxHeader bounds a request line.
const maxHeader = 1 << 20

// shortPath returns a path to name in dir short enough for a socket
// address (108 bytes on Linux): dir itself when it fits, else the folder
// through an open descriptor, which the caller closes after use.
func shortPath(dir, name string) (string, func(), error) {
	p := filepath.Join(dir, name)
	if len(p) < 100 {
		return p, func() {}, nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return "", nil, err
	}
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) + "/" + name, func() { f.Close() }, nil
}

// Listen makes the socket name in dir, owner-only. A socket left by a
// daemon that died is replaced; one a live daemon answers on is refused.
func Listen(dir, name string) (net.Listener, error) {
	if Alive(dir, name) {
		return nil, errors.New("в этой папке данных уже работает служба станции (station serve): остановите её или работайте через неё")
	}
	p, done, err := shortPath(dir, name)
	if err != nil {
		return nil, err
	}
	defer done()
	os.Remove(p)
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", p)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("сокет службы станции %s не создан: %w", filepath.Join(dir, name), err)
	}
	if err := os.Chmod(filepath.Join(dir, name), 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	return ln, nil
}

// Alive tells whether a daemon answers on the socket name in dir.
func Alive(dir, name string) bool {
	c, err := dial(dir, name)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func dial(dir, name string) (net.Conn, error) {
	p, done, err := shortPath(dir, name)
	if err != nil {
		return nil, err
	}
	defer done()
	return net.Dial("unix", p)
}

// Serve answers requests on ln until ctx ends, each on its own goroutine,
// and waits for the commands it started to return.
func Serve(ctx context.Context, ln net.Listener, h Handler) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, c, h)
		}()
	}
}

// frameWriter writes one kind of frame; a write that fails (the caller
// is gone) cancels the command.
type frameWriter struct {
	mu     *sync.Mutex
	w      *bufio.Writer
	kind   byte
	cancel context.CancelFunc
}

func (f *frameWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	err := writeFrame(f.w, f.kind, p)
	if err == nil {
		err = f.w.Flush()
	}
	if err != nil {
		f.cancel()
		return 0, err
	}
	return len(p), nil
}

func writeFrame(w io.Writer, kind byte, p []byte) error {
	var hdr [5]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

func serveConn(ctx context.Context, c net.Conn, h Handler) {
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	br := bufio.NewReader(io.LimitReader(c, maxHeader))
	line, err := br.ReadBytes('\n')
	if err != nil {
		return
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return
	}
	// What the reader buffered past the header is the start of stdin.
	stdin := io.MultiReader(bytes(br), c)
	var mu sync.Mutex
	bw := bufio.NewWriter(c)
	out := &frameWriter{mu: &mu, w: bw, kind: frameStdout, cancel: cancel}
	errw := &frameWriter{mu: &mu, w: bw, kind: frameStderr, cancel: cancel}
	code := h(ctx, req, stdin, out, errw)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	mu.Lock()
	if writeFrame(bw, frameExit, b[:]) == nil {
		bw.Flush()
	}
	mu.Unlock()
}

// bytes returns what r holds buffered, as a reader.
func bytes(r *bufio.Reader) io.Reader {
	n := r.Buffered()
	b, _ := r.Peek(n)
	return io.LimitReader(&sliceReader{b: append([]byte(nil), b...)}, int64(n))
}

type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// ErrNoDaemon means no daemon answers on the socket: the caller runs the
// command itself.
var ErrNoDaemon = errors.New("no station daemon")

// Call runs a command on the daemon of dir. It returns ErrNoDaemon when
// none answers, before anything was sent. stdin, when not nil, is copied
// to the daemon until it ends.
func Call(ctx context.Context, dir, name string, req Request, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	c, err := dial(dir, name)
	if err != nil {
		return 0, ErrNoDaemon
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	line, _ := json.Marshal(req)
	if _, err := c.Write(append(line, '\n')); err != nil {
		return 0, fmt.Errorf("служба станции не ответила: %w", err)
	}
	uc := c.(*net.UnixConn)
	if stdin == nil {
		uc.CloseWrite()
	} else {
		go func() {
			io.Copy(c, stdin)
			uc.CloseWrite()
		}()
	}
	br := bufio.NewReader(c)
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("служба станции прервала команду (%v): проверьте, работает ли station serve, и повторите", err)
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n > 64<<20 {
			return 0, errors.New("служба станции прислала повреждённый ответ")
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(br, buf); err != nil {
			return 0, fmt.Errorf("служба станции прервала команду (%v)", err)
		}
		switch hdr[0] {
		case frameStdout:
			stdout.Write(buf)
		case frameStderr:
			stderr.Write(buf)
		case frameExit:
			if len(buf) != 4 {
				return 0, errors.New("служба станции прислала повреждённый ответ")
			}
			return int(int32(binary.BigEndian.Uint32(buf))), nil
		}
	}
}
