// Package pgstate keeps the state receivers share in PostgreSQL, so that
// two or more receivers on one data folder and store (behind one address)
// take uploads side by side and one can fail: the table of unfinished
// uploads, with the per-station limits checked in a transaction, and named
// locks as PostgreSQL advisory locks, which the server releases when the
// session of a receiver that died ends.
package pgstate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"giascan/transport/receiver"
)

// DB is a receiver.Coordinator on PostgreSQL.
type DB struct {
	pool *pgxpool.Pool
	cfg  *pgx.ConnConfig
	// Poll is how often a waiting Lock tries again.
	Poll time.Duration

	mu     sync.Mutex
	locks  map[*pgx.Conn]bool // lock connections, held or idle, closed by Close
	idle   []*pgx.Conn        // lock connections holding no lock
	closed bool
}

const schema = `
CREATE TABLE IF NOT EXISTS receiver_uploads (
	id          text PRIMARY KEY,
	station_key text NOT NULL,
	size        bigint NOT NULL,
	touched     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS receiver_uploads_station ON receiver_uploads (station_key);
`

// Open connects to the database at url and creates the table if needed.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("адрес базы данных: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("база данных: %w", err)
	}
	// Two receivers starting together must not both create the table.
	if _, err := pool.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended('giascan/schema', 0))`); err == nil {
		_, err = pool.Exec(ctx, schema)
		pool.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended('giascan/schema', 0))`)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("база данных: схема: %w", err)
		}
	} else {
		pool.Close()
		return nil, fmt.Errorf("база данных недоступна: %w", err)
	}
	return &DB{pool: pool, cfg: cfg.ConnConfig, Poll: 20 * time.Millisecond, locks: map[*pgx.Conn]bool{}}, nil
}

// Close closes the connections, releasing every lock this receiver holds.
func (db *DB) Close() {
	db.mu.Lock()
	db.closed = true
	conns := db.locks
	db.locks = map[*pgx.Conn]bool{}
	db.idle = nil
	db.mu.Unlock()
	for c := range conns {
		c.Close(context.Background())
	}
	db.pool.Close()
}

// AddUpload implements receiver.Coordinator.
func (db *DB) AddUpload(ctx context.Context, u receiver.Pending, l receiver.Limits) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// Serialise the count and the insert per station, across receivers.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('limits/' || $1, 0))`, u.Key); err != nil {
			return err
		}
		var n int
		var declared int64
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM receiver_uploads WHERE station_key = $1`, u.Key).Scan(&n, &declared); err != nil {
			return err
		}
		if err := receiver.CheckLimits(l, n, declared, u.Size); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO receiver_uploads (id, station_key, size, touched) VALUES ($1, $2, $3, $4)`, u.ID, u.Key, u.Size, u.Touched)
		return err
	})
}

// Upload implements receiver.Coordinator.
func (db *DB) Upload(ctx context.Context, id string) (receiver.Pending, bool, error) {
	u := receiver.Pending{ID: id}
	err := db.pool.QueryRow(ctx, `SELECT station_key, size, touched FROM receiver_uploads WHERE id = $1`, id).Scan(&u.Key, &u.Size, &u.Touched)
	if errors.Is(err, pgx.ErrNoRows) {
		return receiver.Pending{}, false, nil
	}
	if err != nil {
		return receiver.Pending{}, false, fmt.Errorf("база данных: %w", err)
	}
	return u, true, nil
}

// Touch implements receiver.Coordinator.
func (db *DB) Touch(ctx context.Context, id string, t time.Time) error {
	_, err := db.pool.Exec(ctx, `UPDATE receiver_uploads SET touched = greatest(touched, $2) WHERE id = $1`, id, t)
	return err
}

// RemoveUpload implements receiver.Coordinator.
func (db *DB) RemoveUpload(ctx context.Context, id string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM receiver_uploads WHERE id = $1`, id)
	return err
}

// Idle implements receiver.Coordinator.
func (db *DB) Idle(ctx context.Context, cut time.Time) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT id FROM receiver_uploads WHERE touched < $1 ORDER BY id`, cut)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Lock implements receiver.Coordinator with a session advisory lock, held
// on a connection of its own (not the pool's) until unlock: closing that
// connection, as a dying receiver does, releases the lock. A connection
// whose lock was released is kept for the next Lock, since connecting
// (a server process each) costs more than the lock.
func (db *DB) Lock(ctx context.Context, name string) (func(), error) {
	conn, err := db.lockConn(ctx)
	if err != nil {
		return nil, err
	}
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, name).Scan(&ok); err != nil {
			db.drop(conn)
			return nil, err
		}
		if ok {
			// Once: a second call must not release a later holder's lock
			// on the same, reused, connection.
			var once sync.Once
			return func() { once.Do(func() { db.unlock(conn, name) }) }, nil
		}
		t := time.NewTimer(db.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			db.keep(conn)
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// maxIdleLockConns bounds the connections kept between locks.
const maxIdleLockConns = 16

// lockConn is an idle lock connection, or a new one.
func (db *DB) lockConn(ctx context.Context) (*pgx.Conn, error) {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil, errors.New("база данных: соединения закрыты")
	}
	if n := len(db.idle); n > 0 {
		conn := db.idle[n-1]
		db.idle = db.idle[:n-1]
		db.mu.Unlock()
		return conn, nil
	}
	db.mu.Unlock()
	conn, err := pgx.ConnectConfig(ctx, db.cfg)
	if err != nil {
		return nil, fmt.Errorf("база данных: %w", err)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		conn.Close(ctx)
		return nil, errors.New("база данных: соединения закрыты")
	}
	db.locks[conn] = true
	return conn, nil
}

// unlock releases the lock and keeps its connection; a connection on which
// the release is not confirmed is closed, which releases it for sure.
func (db *DB) unlock(conn *pgx.Conn, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var released bool
	if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, name).Scan(&released); err != nil || !released {
		db.drop(conn)
		return
	}
	db.keep(conn)
}

// keep puts a connection that holds no lock back for the next Lock.
func (db *DB) keep(conn *pgx.Conn) {
	db.mu.Lock()
	if !db.closed && !conn.IsClosed() && len(db.idle) < maxIdleLockConns {
		db.idle = append(db.idle, conn)
		db.mu.Unlock()
		return
	}
	db.mu.Unlock()
	db.drop(conn)
}

// drop closes a lock connection.
func (db *DB) drop(conn *pgx.Conn) {
	db.mu.Lock()
	delete(db.locks, conn)
	db.mu.Unlock()
	conn.Close(context.Background())
}

var _ receiver.Coordinator = (*DB)(nil)

// RemoveAll empties the table of unfinished uploads, for tests.
func (db *DB) RemoveAll(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM receiver_uploads`)
	return err
}
