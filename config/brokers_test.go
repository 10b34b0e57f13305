package config

import (
	"reflect"
	"testing"
)

func TestResolveBrokers(t *testing.T) {
	file := &Pipeline{Kafka: Kafka{Brokers: []string{"file:9092"}}}
	for _, tc := range []struct {
		name, flag, env string
		p               *Pipeline
		want            []string
		src             BrokerSource
	}{
		{"flag wins", "f1:9092, f2:9092", "e:9092", file, []string{"f1:9092", "f2:9092"}, "flag"},
		{"env over file", "", " e1:9092,,e2:9092 ", file, []string{"e1:9092", "e2:9092"}, "env"},
		{"file over default", "", "", file, []string{"file:9092"}, "file"},
		{"default", "", "", &Pipeline{}, []string{"127.0.0.1:9092"}, "default"},
		{"nil pipeline", "", "", nil, []string{DefaultBrokers}, "default"},
		{"blank flag is unset", " , ", "e:9092", nil, []string{"e:9092"}, "env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SLUICE_BROKERS", tc.env)
			got, src := ResolveBrokers(tc.flag, tc.p)
			if !reflect.DeepEqual(got, tc.want) || src != tc.src {
				t.Errorf("got %q from %s; want %q from %s", got, src, tc.want, tc.src)
			}
		})
	}
	got, _ := ResolveBrokers("", file)
	got[0] = "changed"
	if file.Kafka.Brokers[0] != "file:9092" {
		t.Error("ResolveBrokers shares its result with the pipeline")
	}
}

func TestValidBroker(t *testing.T) {
	for b, ok := range map[string]bool{
		"127.0.0.1:9092": true, "kafka:9092": true, "[::1]:9092": true,
		"kafka": false, ":9092": false, "kafka:0": false, "kafka:65536": false, "kafka:x": false, "::1:9092": false,
	} {
		if validBroker(b) != ok {
			t.Errorf("validBroker(%q) = %v", b, !ok)
		}
	}
}
