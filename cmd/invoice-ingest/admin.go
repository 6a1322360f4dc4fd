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

// openDB loads config, then opens the database it names.
func openDB(ctx context.Context, getenv func(string) string) (config.Config, *models.DB, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return cfg, nil, err
	}
	db, err := openDatabase(ctx, cfg.DatabaseURL)
	return cfg, db, err
}

// openDatabase creates the database if needed, opens it and applies pending migrations, so every
// subcommand works on a fresh server without a separate migrate step.
func openDatabase(ctx context.Context, url string) (*models.DB, error) {
	if err := models.EnsureDatabase(ctx, url); err != nil {
		return nil, err
	}
	db, err := models.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := models.Migrate(ctx, db.SQL); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// withDB runs one administration command on the database and prints what it returns as one JSON
// line (nothing when it returns nil), for scripts to parse.
func withDB(ctx context.Context, getenv func(string) string, stdout io.Writer, fn func(*models.DB) (any, error)) error {
	_, db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := fn(db)
	if err != nil || v == nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(v)
}

// accountJSON is what accounts create and serve --demo-account print: the new account and its
// key, which is shown this once and never again.
func accountJSON(acc models.Account, secret string) map[string]string {
	return map[string]string{"account_id": acc.ID.String(), "api_key": secret}
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
	return withDB(ctx, getenv, stdout, func(db *models.DB) (any, error) {
		acc, secret, err := db.CreateAccount(ctx, *name)
		if err != nil {
			return nil, err
		}
		return accountJSON(acc, secret), nil
	})
}

func keys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"keys: expected 'create' or 'revoke'"}
	}
	switch args[0] {
	case "create":
		return keysCreate(ctx, args[1:], getenv, stdout)
	case "revoke":
		return keysRevoke(ctx, args[1:], getenv)
	default:
		return usageError{fmt.Sprintf("keys: unknown action %q", args[0])}
	}
}

func keysCreate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlags("keys create")
	account := fs.String("account", "", "account id")
	scopes := fs.String("scopes", models.ScopeRead+","+models.ScopeWrite, "comma-separated scopes")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := uuid.Parse(*account)
	if err != nil || fs.NArg() > 0 {
		return usageError{"keys create: --account ID (a UUID) is required"}
	}
	return withDB(ctx, getenv, stdout, func(db *models.DB) (any, error) {
		key, secret, err := db.CreateKey(ctx, id, splitScopes(*scopes))
		if err != nil {
			return nil, err
		}
		return map[string]string{"api_key": secret, "key_id": key.ID.String()}, nil
	})
}

func keysRevoke(ctx context.Context, args []string, getenv func(string) string) error {
	fs := newFlags("keys revoke")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"keys revoke: KEY_ID is required"}
	}
	id, err := uuid.Parse(fs.Arg(0))
	if err != nil {
		return usageError{"keys revoke: KEY_ID must be a UUID"}
	}
	return withDB(ctx, getenv, io.Discard, func(db *models.DB) (any, error) {
		return nil, db.RevokeKey(ctx, id)
	})
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
	return withDB(ctx, getenv, stdout, func(db *models.DB) (any, error) {
		return recalc.Status(ctx, db, *limit)
	})
}
