package scanner

import (
	"context"
	"sync"
)

// Pool runs work on queued items with a fixed number of workers. Add never
// blocks: the queue grows instead, so a slow recogniser never holds up the
// scanner. Items should be small (a page's place, not its image): the
// worker reads what it needs from disk.
//
// The pool's goroutines are owned by it: Wait or Stop ends them.
type Pool[T any] struct {
	work   func(ctx context.Context, item T)
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []T
	closed  bool
	running int // items being worked on
	done    int
	wg      sync.WaitGroup
}

// NewPool starts workers goroutines (at least 1) that call work for every
// item added. ctx cancels the work in progress and drops the queue.
func NewPool[T any](ctx context.Context, workers int, work func(ctx context.Context, item T)) *Pool[T] {
	ctx, cancel := context.WithCancel(ctx)
	p := &Pool[T]{work: work, ctx: ctx, cancel: cancel}
	p.cond = sync.NewCond(&p.mu)
	workers = max(workers, 1)
	p.wg.Add(workers)
	for range workers {
		go p.worker()
	}
	// Wake the workers when ctx ends so they return.
	go func() {
		<-ctx.Done()
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	return p
}

func (p *Pool[T]) worker() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed && p.ctx.Err() == nil {
			p.cond.Wait()
		}
		if p.ctx.Err() != nil || len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		item := p.queue[0]
		var zero T
		p.queue[0] = zero
		p.queue = p.queue[1:]
		p.running++
		p.mu.Unlock()

		p.work(p.ctx, item)

		p.mu.Lock()
		p.running--
		p.done++
		p.cond.Broadcast()
		p.mu.Unlock()
	}
}

// Add queues an item; it returns at once. Items added after Wait or Stop
// began are dropped.
func (p *Pool[T]) Add(item T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.ctx.Err() != nil {
		return
	}
	p.queue = append(p.queue, item)
	p.cond.Signal()
}

// Progress returns how many items are done and how many are queued or in
// work.
func (p *Pool[T]) Progress() (done, left int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done, len(p.queue) + p.running
}

// Wait finishes every queued item, then ends the workers. It returns early
// when the pool's context ends.
func (p *Pool[T]) Wait() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
	p.cancel()
}

// Stop drops the queue, cancels the work in progress and ends the workers.
func (p *Pool[T]) Stop() {
	p.cancel()
	p.wg.Wait()
}
