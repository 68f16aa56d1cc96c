// Package linktest stands for the network between a station and the РЦОИ
// in tests: a TCP forwarder on loopback that throttles the station's
// direction and cuts every connection at chosen byte counts, so resumable
// uploads can be tested against a slow, broken link.
package linktest

import (
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// Link forwards TCP from its own loopback address to a backend.
type Link struct {
	ln   net.Listener
	rate int
	wg   sync.WaitGroup

	mu        sync.Mutex
	loss      float64       // chance that a segment is lost
	penalty   time.Duration // what a lost segment costs: the retransmission wait
	rng       *rand.Rand
	backend   string
	cuts      []int64
	cutsDone  int
	forwarded int64
	conns     map[net.Conn]bool
}

// New starts a link to backend (host:port) passing rate bytes a second
// towards it and cutting all connections when the bytes forwarded pass
// each of cuts. It stops when the test ends.
func New(tb testing.TB, backend string, rate int, cuts ...int64) *Link {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	l := &Link{ln: ln, rate: rate, backend: backend, cuts: cuts, conns: map[net.Conn]bool{}}
	l.wg.Add(1)
	go l.serve()
	tb.Cleanup(l.Close)
	return l
}

// URL is the link's address as an http URL.
func (l *Link) URL() string { return "http://" + l.ln.Addr().String() }

// SetBackend points new connections at another backend, as after a
// receiver restart on another port.
func (l *Link) SetBackend(addr string) {
	l.mu.Lock()
	l.backend = addr
	l.mu.Unlock()
}

// SetRate changes the bytes a second passed towards the backend; 0
// passes them as fast as they come.
func (l *Link) SetRate(rate int) {
	l.mu.Lock()
	l.rate = rate
	l.mu.Unlock()
}

// SetLoss makes the link lose each 1,460-byte segment with probability p,
// as a lossy radio link does; TCP repairs a loss by retransmitting, which
// the link charges as a wait of penalty (a retransmission timeout).
func (l *Link) SetLoss(p float64, penalty time.Duration) {
	l.mu.Lock()
	l.loss, l.penalty = p, penalty
	if l.rng == nil {
		l.rng = rand.New(rand.NewPCG(2, 0x10557))
	}
	l.mu.Unlock()
}

// SetCuts replaces the byte counts at which the link cuts.
func (l *Link) SetCuts(cuts ...int64) {
	l.mu.Lock()
	l.cuts = cuts
	l.mu.Unlock()
}

// Stats says how many bytes went towards the backend and how many cuts
// happened.
func (l *Link) Stats() (forwarded int64, cuts int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.forwarded, l.cutsDone
}

// Close stops the link and every connection through it.
func (l *Link) Close() {
	l.ln.Close()
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *Link) serve() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.wg.Add(1)
		go l.handle(c)
	}
}

func (l *Link) handle(c net.Conn) {
	defer l.wg.Done()
	l.mu.Lock()
	backend := l.backend
	l.mu.Unlock()
	up, err := net.Dial("tcp", backend)
	if err != nil {
		c.Close()
		return
	}
	l.mu.Lock()
	l.conns[c], l.conns[up] = true, true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.conns, c)
		delete(l.conns, up)
		l.mu.Unlock()
	}()
	down := make(chan struct{})
	go func() {
		defer close(down)
		io.Copy(c, up)
		c.Close()
	}()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			l.mu.Lock()
			wait := time.Duration(0)
			if l.rate > 0 {
				wait = time.Duration(n) * time.Second / time.Duration(l.rate)
			}
			for seg := 0; l.loss > 0 && seg < (n+1459)/1460; seg++ {
				if l.rng.Float64() < l.loss {
					wait += l.penalty
				}
			}
			l.mu.Unlock()
			time.Sleep(wait)
			if _, werr := up.Write(buf[:n]); werr != nil {
				break
			}
			l.mu.Lock()
			l.forwarded += int64(n)
			cut := len(l.cuts) > 0 && l.forwarded >= l.cuts[0]
			if cut {
				l.cuts = l.cuts[1:]
				l.cutsDone++
			}
			l.mu.Unlock()
			if cut {
				break
			}
		}
		if err != nil {
			break
		}
	}
	up.Close()
	c.Close()
	<-down
}
