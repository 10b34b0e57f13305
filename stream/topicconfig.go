package stream

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
)

// TopicMaxMessageBytes returns the topic's max.message.bytes, kept within
// what franz-go accepts for a batch (512 B to the broker's 100 MiB write
// limit), or 0 if it cannot be read. Producers size their batches with it so
// that a record the topic accepts is never refused by the client.
func TopicMaxMessageBytes(ctx context.Context, adm *kadm.Client, topic string) int32 {
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return 0
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		return 0
	}
	for _, c := range rc.Configs {
		if c.Key != "max.message.bytes" || c.Value == nil {
			continue
		}
		n, err := strconv.ParseInt(*c.Value, 10, 64)
		if err != nil {
			return 0
		}
		return int32(min(max(n, 512), 100<<20))
	}
	return 0
}
