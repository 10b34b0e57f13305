package stream

import (
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// zapLogger routes franz-go's own log lines (warnings and errors only) into
// the stage's zap log.
type zapLogger struct{ l *zap.Logger }

func (z zapLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (z zapLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	fields := make([]zap.Field, 0, len(keyvals)/2)
	for i := 0; i+1 < len(keyvals); i += 2 {
		k, _ := keyvals[i].(string)
		fields = append(fields, zap.Any(k, keyvals[i+1]))
	}
	switch level {
	case kgo.LogLevelError:
		z.l.Error(msg, fields...)
	default:
		z.l.Warn(msg, fields...)
	}
}
