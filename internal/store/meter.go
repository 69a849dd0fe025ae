package store

import "context"

// Meter is told what the store sees that an operator counts (package
// metrics): every security event recorded, every request a limit refused,
// every statement the database failed, and the kind of each factor a
// request reads, which names the method of a code checked next. It only
// counts: nothing the store does depends on it.
type Meter interface {
	Event(ctx context.Context, kind, outcome string)
	Refused(key string)
	Failed(op string, err error)
	FactorRead(ctx context.Context, kind string)
}

// SetMeter has the store tell m from now on. Call it before the store is
// used by more than one goroutine.
func (db *DB) SetMeter(m Meter) { db.meter = m }

// failed tells the meter about a failed statement; op is "read" or "write".
func (db *DB) failed(op string, err error) {
	if err != nil && db.meter != nil {
		db.meter.Failed(op, err)
	}
}
