package main

import (
	"context"
	"time"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/storage/postgres"
	"github.com/salamhq/salam/storage/sqlite"
)

// openStore opens the chat store the configuration names: Postgres in
// production, the embedded SQLite file otherwise.
func openStore(cfg *config) (chat.Store, error) {
	if cfg.Store.PostgresURL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return postgres.Open(ctx, cfg.Store.PostgresURL, postgres.Options{})
	}
	return sqlite.Open(cfg.Store.SQLitePath, sqlite.Options{Synchronous: cfg.Store.Synchronous})
}
