package main

import (
	"errors"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/storage/sqlite"
)

// openStore opens the chat store the configuration names.
func openStore(cfg *config) (chat.Store, error) {
	if cfg.Store.PostgresURL != "" {
		return nil, errors.New("store.postgres_url: Postgres storage is not wired in this build")
	}
	return sqlite.Open(cfg.Store.SQLitePath, sqlite.Options{Synchronous: cfg.Store.Synchronous})
}
