package app

import (
	"context"
	"log/slog"

	"twostep/internal/account"
	"twostep/internal/config"
	"twostep/internal/password"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// Operator is the account service as the operator's commands (twostep
// users …) need it beside running servers: the same key, pepper and
// settings, so the messages it queues open and read like theirs, but no
// sender of its own — the servers' senders deliver what it queues — and
// no HTTP surface. created reports a key newly written to the data
// directory (no server has run there yet).
func Operator(ctx context.Context, cfg config.Config, db *store.DB, log *slog.Logger) (acct *account.Service, created bool, err error) {
	key, created, err := secret.LoadOrCreateKey(cfg.Secrets.Key, cfg.Server.DataDir)
	if err != nil {
		return nil, false, err
	}
	keys, err := Keyring(key, cfg.Secrets.OldKeys)
	if err != nil {
		return nil, false, err
	}
	pepper, err := Pepper(ctx, db, keys)
	if err != nil {
		return nil, false, err
	}
	// The commands hash no passwords: the cheapest valid parameters keep
	// the hasher's start-up hash from costing anything.
	hasher := password.NewHasher(password.Params{MemoryKiB: 8, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 16}, 1, 0)
	return account.New(account.Options{DB: db, Hasher: hasher, Keys: keys, Pepper: pepper, Config: cfg, Log: log}), created, nil
}
