package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"

	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/recalc"
)

// newFlags returns a flag set whose errors become usage errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	return nil
}

// openDB loads config, creates the database if needed, opens it and applies pending migrations.
func openDB(ctx context.Context, getenv func(string) string) (config.Config, *models.DB, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return cfg, nil, err
	}
	if err := models.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return cfg, nil, err
	}
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return cfg, nil, err
	}
	if err := models.Migrate(ctx, db.SQL); err != nil {
		db.Close()
		return cfg, nil, err
	}
	return cfg, db, nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string) error {
	if err := parse(newFlags("migrate"), args); err != nil {
		return err
	}
	_, db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	return db.Close()
}

func accounts(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"accounts: expected 'create'"}
	}
	fs := newFlags("accounts create")
	name := fs.String("name", "", "account name")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" || fs.NArg() > 0 {
		return usageError{"accounts create: --name NAME is required"}
	}
	_, db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	acc, secret, err := db.CreateAccount(ctx, *name)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"account_id": acc.ID.String(), "api_key": secret})
}

func keys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"keys: expected 'create' or 'revoke'"}
	}
	switch args[0] {
	case "create":
		fs := newFlags("keys create")
		account := fs.String("account", "", "account id")
		scopes := fs.String("scopes", models.ScopeRead+","+models.ScopeWrite, "comma-separated scopes")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		id, err := uuid.Parse(*account)
		if err != nil || fs.NArg() > 0 {
			return usageError{"keys create: --account ID (a UUID) is required"}
		}
		_, db, err := openDB(ctx, getenv)
		if err != nil {
			return err
		}
		defer db.Close()
		key, secret, err := db.CreateKey(ctx, id, splitScopes(*scopes))
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(map[string]string{"api_key": secret, "key_id": key.ID.String()})
	case "revoke":
		fs := newFlags("keys revoke")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageError{"keys revoke: KEY_ID is required"}
		}
		id, err := uuid.Parse(fs.Arg(0))
		if err != nil {
			return usageError{"keys revoke: KEY_ID must be a UUID"}
		}
		_, db, err := openDB(ctx, getenv)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.RevokeKey(ctx, id)
	default:
		return usageError{fmt.Sprintf("keys: unknown action %q", args[0])}
	}
}

func splitScopes(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// recalcStatus prints the recalculation queue: how many customers wait, how many are being
// computed, and the failing ones with their attempts and last error (for operators: the error
// text may be internal, so the API never shows it).
func recalcStatus(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		return usageError{"recalc: expected 'status'"}
	}
	fs := newFlags("recalc status")
	limit := fs.Int("limit", 20, "most failing customers to list")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *limit < 1 || fs.NArg() > 0 {
		return usageError{"recalc status: --limit must be at least 1"}
	}
	_, db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := recalc.Status(ctx, db, *limit)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(st)
}
