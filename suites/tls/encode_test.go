package tls_test

import (
	stdjson "encoding/json"

	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
)

type shared struct {
	Server keycloak.Info   `json:"server"`
	Certs  framework.Certs `json:"certs"`
}

func encodeShared(i keycloak.Info, c framework.Certs) ([]byte, error) {
	return stdjson.Marshal(shared{i, c})
}

func decodeShared(b []byte) (keycloak.Info, framework.Certs, error) {
	var s shared
	err := stdjson.Unmarshal(b, &s)
	return s.Server, s.Certs, err
}
