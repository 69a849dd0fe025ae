package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds a statement cache. twostep's queries are constants (a
// few hundred at most); a query text built from data would otherwise grow
// the cache without end, so past the bound queries run unprepared.
const maxStmts = 512

// stmtCache holds one pool's prepared statements by query text (already
// rebound for the engine). database/sql prepares a *sql.Stmt on each
// connection the first time it runs there and keeps it, so a cached query
// is parsed once per connection instead of on every call: on SQLite that
// parse (sqlite3_prepare_v2) was half the CPU of a session check.
type stmtCache struct {
	pool *sql.DB

	mu       sync.RWMutex
	m        map[string]*sql.Stmt
	inflight map[string]bool // being prepared in the background
	closed   bool
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}, inflight: map[string]bool{}}
}

// cached returns the statement for query if it is prepared already.
func (c *stmtCache) cached(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// get returns the statement for query, preparing it on the pool first if
// need be, or nil when it cannot be cached (the cache is off, full or
// closed, or the prepare failed): the caller then runs the query text as
// before, and so gets the same result or error it always did.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	if s := c.cached(query); s != nil {
		return s
	}
	c.mu.RLock()
	full := c.closed || len(c.m) >= maxStmts
	c.mu.RUnlock()
	if full {
		return nil
	}
	s, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	return c.put(query, s)
}

// put caches s for query unless another goroutine got there first or the
// cache is closed, and returns the statement to use.
func (c *stmtCache) put(query string, s *sql.Stmt) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.Close()
		return nil
	}
	if old := c.m[query]; old != nil {
		s.Close()
		return old
	}
	c.m[query] = s
	return s
}

// prepareLater prepares query on the pool in the background. A
// transaction holds a connection (on SQLite the only writer), so
// preparing on the pool from inside it could wait for itself; the
// transaction runs the text this once and later ones find it prepared.
func (c *stmtCache) prepareLater(query string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.closed || c.inflight[query] || c.m[query] != nil || len(c.m) >= maxStmts {
		c.mu.Unlock()
		return
	}
	c.inflight[query] = true
	c.mu.Unlock()
	go func() {
		if s, err := c.pool.PrepareContext(context.Background(), query); err == nil {
			c.put(query, s)
		}
		c.mu.Lock()
		delete(c.inflight, query)
		c.mu.Unlock()
	}()
}

// close closes every cached statement; the cache prepares no more.
func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var first error
	for q, s := range c.m {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.m, q)
	}
	return first
}

// txStmt returns the cached statement for query bound to tx, or nil when
// there is none yet (it is then prepared for next time).
func (c *stmtCache) txStmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	s := c.cached(query)
	if s == nil {
		c.prepareLater(query)
		return nil
	}
	// On the transaction's connection database/sql reuses the statement
	// prepared there before, or prepares it there once and keeps it; tx
	// closes its handle when it ends.
	return tx.StmtContext(ctx, s)
}

func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if changesSessions(query) {
		db.sessionsChanged.Add(1)
		defer db.sessionsChanged.Add(1)
	}
	q := db.q(query)
	var res sql.Result
	var err error
	if s := db.wstmts.get(ctx, q); s != nil {
		res, err = s.ExecContext(ctx, args...)
	} else {
		res, err = db.w.ExecContext(ctx, q, args...)
	}
	db.failed("write", err)
	return res, err
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	q := db.q(query)
	var row *sql.Row
	if s := db.rstmts.get(ctx, q); s != nil {
		row = s.QueryRowContext(ctx, args...)
	} else {
		row = db.r.QueryRowContext(ctx, q, args...)
	}
	db.failed("read", row.Err()) // the query's error; no row is none
	return row
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q := db.q(query)
	var rows *sql.Rows
	var err error
	if s := db.rstmts.get(ctx, q); s != nil {
		rows, err = s.QueryContext(ctx, args...)
	} else {
		rows, err = db.r.QueryContext(ctx, q, args...)
	}
	db.failed("read", err)
	return rows, err
}

// writeRow runs a write that returns a row (INSERT … RETURNING), or a read
// that must see the latest write, on the writer.
func (db *DB) writeRow(ctx context.Context, query string, args ...any) *sql.Row {
	if changesSessions(query) {
		// A row is read after; counting twice now is as good.
		db.sessionsChanged.Add(2)
	}
	q := db.q(query)
	var row *sql.Row
	if s := db.wstmts.get(ctx, q); s != nil {
		row = s.QueryRowContext(ctx, args...)
	} else {
		row = db.w.QueryRowContext(ctx, q, args...)
	}
	db.failed("write", row.Err())
	return row
}

// writeQuery is writeRow for a write that returns rows.
func (db *DB) writeQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q := db.q(query)
	var rows *sql.Rows
	var err error
	if s := db.wstmts.get(ctx, q); s != nil {
		rows, err = s.QueryContext(ctx, args...)
	} else {
		rows, err = db.w.QueryContext(ctx, q, args...)
	}
	db.failed("write", err)
	return rows, err
}

// txExec runs query in tx, prepared once like exec.
func (db *DB) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	q := db.q(query)
	var res sql.Result
	var err error
	if s := db.wstmts.txStmt(ctx, tx, q); s != nil {
		res, err = s.ExecContext(ctx, args...)
	} else {
		res, err = tx.ExecContext(ctx, q, args...)
	}
	db.failed("write", err)
	return res, err
}

// txQueryRow runs query in tx and returns its row, prepared once like
// queryRow.
func (db *DB) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	q := db.q(query)
	var row *sql.Row
	if s := db.wstmts.txStmt(ctx, tx, q); s != nil {
		row = s.QueryRowContext(ctx, args...)
	} else {
		row = tx.QueryRowContext(ctx, q, args...)
	}
	db.failed("write", row.Err())
	return row
}
