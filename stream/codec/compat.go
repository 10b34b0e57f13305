package codec

// OWNER: helper "compat" replaces this file. Contract:
//
//	incompatibilities(mode string, older, newer avro.Schema) []string
//
// mode is config.CompatBackward, CompatForward or CompatFull; the result
// is empty when newer keeps the rule with older, else one reason per
// break, each naming the field: "field `unit` removed without a default".

import "github.com/hamba/avro/v2"

func incompatibilities(mode string, older, newer avro.Schema) []string { return nil }
