package keycloak

import (
	"kcconform/pkg/target"
	"kcconform/pkg/versions"
)

// Targets (package target holds them, a leaf that settings can import).
const (
	TargetProcess   = target.Process
	TargetContainer = target.Container
	TargetExternal  = target.External
)

// Modes: how a run uses the server.
const (
	ModeProvisioned = target.ModeProvisioned
	ModeAudit       = target.ModeAudit
	ModeClientOnly  = target.ModeClientOnly
)

// DefaultVersion is the Keycloak version of the process and container
// targets unless KC_VERSION says otherwise.
var DefaultVersion = versions.Default

// Config selects and configures a target (package target's).
type Config = target.Config

// ExistingClient is a client set up by hand on an external server.
type ExistingClient = target.ExistingClient
