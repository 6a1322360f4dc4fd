package models

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm/logger"
)

// statementLog logs every statement GORM runs (ours included, as they go through GORM) at debug
// level: its text with placeholders, never its parameters (rows and key hashes are data), its
// duration, rows and error. Below debug it costs one Enabled check per statement. Errors are not
// logged here: the caller decides whether an error is expected (a foreign key refusing a batch
// is) and logs what is not.
type statementLog struct{ log *slog.Logger }

// maxLoggedSQL bounds a logged statement's text.
const maxLoggedSQL = 500

func (l statementLog) LogMode(logger.LogLevel) logger.Interface      { return l }
func (l statementLog) Info(context.Context, string, ...interface{})  {}
func (l statementLog) Warn(context.Context, string, ...interface{})  {}
func (l statementLog) Error(context.Context, string, ...interface{}) {}

// ParamsFilter drops the parameters, so GORM never renders them into the logged text.
func (l statementLog) ParamsFilter(_ context.Context, sql string, _ ...interface{}) (string, []interface{}) {
	return sql, nil
}

func (l statementLog) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if !l.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	sql, rows := fc()
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > maxLoggedSQL {
		sql = sql[:maxLoggedSQL] + "..."
	}
	attrs := []any{slog.String("sql", sql), slog.Duration("duration", time.Since(begin)), slog.Int64("rows", rows)}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	l.log.DebugContext(ctx, "statement", attrs...)
}
