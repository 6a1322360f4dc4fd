package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"invoice-ingest/models"
	"invoice-ingest/recalc"
)

// withDB runs one administration command on the migrated database and prints what it returns as
// JSON lines, for scripts to parse: a slice one line per element, nil nothing, anything else one
// line.
func withDB(ctx context.Context, e env, fn func(*models.DB) (any, error)) error {
	db, err := openDB(ctx, e.lookup)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := fn(db)
	if err != nil || v == nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	if lines, ok := v.([]any); ok {
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}
	return enc.Encode(v)
}

// accountJSON is what accounts create and serve --demo-account print: the new account and its
// key, which is shown this once and never again.
func accountJSON(acc models.Account, secret string) map[string]string {
	return map[string]string{"account_id": acc.ID.String(), "api_key": secret}
}

var accountActions = []command{
	{"create", "create an account and its first API key", accountsCreate},
	{"list", "list accounts, one JSON object per line", accountsList},
}

func accountsCommand(ctx context.Context, args []string, e env) error {
	return dispatch(ctx, "accounts", "Create and list accounts (tenants).", accountActions, args, e)
}

func accountsCreate(ctx context.Context, args []string, e env) error {
	fs := newFlags("accounts create", "--name NAME", `Create an account and its first API key (scopes data:read and data:write). Prints one
JSON object {"account_id": "...", "api_key": "..."}: the key is shown this once only.`)
	name := fs.String("name", "", "account name (required)")
	if err := fs.noArgs(args, e.stdout); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return fs.fail("--name NAME is required")
	}
	return withDB(ctx, e, func(db *models.DB) (any, error) {
		acc, secret, err := db.CreateAccount(ctx, *name)
		if err != nil {
			return nil, err
		}
		return accountJSON(acc, secret), nil
	})
}

// accountLine is one line of accounts list.
type accountLine struct {
	AccountID uuid.UUID `json:"account_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func accountsList(ctx context.Context, args []string, e env) error {
	fs := newFlags("accounts list", "", `List every account, oldest first, one JSON object per line:
{"account_id": "...", "name": "...", "created_at": "..."}.`)
	if err := fs.noArgs(args, e.stdout); err != nil {
		return err
	}
	return withDB(ctx, e, func(db *models.DB) (any, error) {
		accs, err := db.ListAccounts(ctx)
		lines := []any{}
		for _, a := range accs {
			lines = append(lines, accountLine{a.ID, a.Name, a.CreatedAt.UTC()})
		}
		return lines, err
	})
}

var keyActions = []command{
	{"create", "create another API key for an account", keysCreate},
	{"list", "list an account's keys without secrets, one JSON object per line", keysList},
	{"revoke", "revoke a key", keysRevoke},
}

func keysCommand(ctx context.Context, args []string, e env) error {
	return dispatch(ctx, "keys", "Create, list and revoke API keys.", keyActions, args, e)
}

// accountFlag adds the --account flag and returns what reads it.
func accountFlag(fs *flags) func() (uuid.UUID, error) {
	account := fs.String("account", "", "account id, a UUID (required)")
	return func() (uuid.UUID, error) {
		id, err := uuid.Parse(*account)
		if err != nil {
			return id, fs.fail("--account ID (a UUID) is required")
		}
		return id, nil
	}
}

func keysCreate(ctx context.Context, args []string, e env) error {
	fs := newFlags("keys create", "--account ID [--scopes data:read,data:write]", `Create another API key for an account. Prints one JSON object
{"api_key": "...", "key_id": "..."}: the key is shown this once only.`)
	account := accountFlag(fs)
	scopes := fs.String("scopes", models.ScopeRead+","+models.ScopeWrite, "comma-separated scopes: data:read, data:write")
	if err := fs.noArgs(args, e.stdout); err != nil {
		return err
	}
	id, err := account()
	if err != nil {
		return err
	}
	return withDB(ctx, e, func(db *models.DB) (any, error) {
		key, secret, err := db.CreateKey(ctx, id, splitScopes(*scopes))
		if err != nil {
			return nil, err
		}
		return map[string]string{"api_key": secret, "key_id": key.ID.String()}, nil
	})
}

// keyLine is one line of keys list: never the secret nor its hash.
type keyLine struct {
	KeyID     uuid.UUID  `json:"key_id"`
	AccountID uuid.UUID  `json:"account_id"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func keysList(ctx context.Context, args []string, e env) error {
	fs := newFlags("keys list", "--account ID", `List an account's keys, revoked ones included, oldest first, one JSON object per line:
{"key_id", "account_id", "scopes", "created_at", "revoked_at"} (null while live). Secrets are
never stored, so never listed.`)
	account := accountFlag(fs)
	if err := fs.noArgs(args, e.stdout); err != nil {
		return err
	}
	id, err := account()
	if err != nil {
		return err
	}
	return withDB(ctx, e, func(db *models.DB) (any, error) {
		keys, err := db.ListKeys(ctx, id)
		lines := []any{}
		for _, k := range keys {
			l := keyLine{k.ID, k.AccountID, strings.Fields(k.Scopes), k.CreatedAt.UTC(), nil}
			if k.RevokedAt != nil {
				t := k.RevokedAt.UTC()
				l.RevokedAt = &t
			}
			lines = append(lines, l)
		}
		return lines, err
	})
}

func keysRevoke(ctx context.Context, args []string, e env) error {
	fs := newFlags("keys revoke", "KEY_ID", `Revoke a key: requests with it are refused (401) from now on. Revoking twice is fine.`)
	if err := fs.parse(args, e.stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fs.fail("KEY_ID is required")
	}
	id, err := uuid.Parse(fs.Arg(0))
	if err != nil {
		return fs.fail("KEY_ID must be a UUID")
	}
	return withDB(ctx, env{lookup: e.lookup, stdout: io.Discard}, func(db *models.DB) (any, error) {
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

var recalcActions = []command{
	{"status", "queue depth, running and failing customers", recalcStatus},
}

func recalcCommand(ctx context.Context, args []string, e env) error {
	return dispatch(ctx, "recalc", "Inspect the metric recalculation queue.", recalcActions, args, e)
}

// recalcStatus prints the recalculation queue: how many customers wait, how many are being
// computed, and the failing ones with their attempts and last error (for operators: the error
// text may be internal, so the API never shows it).
func recalcStatus(ctx context.Context, args []string, e env) error {
	fs := newFlags("recalc status", "[--limit N]", `Print the recalculation queue as one JSON object: writes not yet queued, customers queued
and running, and the failing ones with their attempts and last error.`)
	limit := fs.Int("limit", 20, "most failing customers to list, at least 1")
	if err := fs.noArgs(args, e.stdout); err != nil {
		return err
	}
	if *limit < 1 {
		return fs.fail("--limit must be at least 1")
	}
	return withDB(ctx, e, func(db *models.DB) (any, error) {
		return recalc.Status(ctx, db, *limit)
	})
}
