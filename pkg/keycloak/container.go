package keycloak

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"kcconform/pkg/kccontainer"
)

// DefaultImage is the official image of a version.
func DefaultImage(version string) string { return "quay.io/keycloak/keycloak:" + version }

// ContainerLauncher runs Keycloak through testcontainers-go (kccontainer).
type ContainerLauncher struct {
	Config
	// Options are passed to kccontainer.Run after the launcher's own.
	Options []testcontainers.ContainerCustomizer
}

func newContainerLauncher(c Config) (Launcher, error) {
	if c.Image == "" {
		c.Image = DefaultImage(c.Version)
	}
	return &ContainerLauncher{Config: c}, nil
}

// Start runs the container and returns when an admin token can be obtained.
func (l *ContainerLauncher) Start(ctx context.Context) (*Server, error) {
	logDir := l.LogDir
	if logDir == "" {
		logDir = filepath.Join(l.CacheDir, "logs")
	}
	logFile := filepath.Join(logDir, fmt.Sprintf("keycloak-%s-container-%d.log", l.Version, time.Now().UnixNano()))
	opts := append([]testcontainers.ContainerCustomizer{
		kccontainer.WithLogFile(logFile),
		kccontainer.WithStartupTimeout(l.BootTimeout),
	}, l.Options...)
	began := time.Now()
	ctr, err := kccontainer.Run(ctx, l.Image, opts...)
	stop := func(ctx context.Context) error {
		if err := ctr.Terminate(ctx); err != nil {
			return fmt.Errorf("keycloak: terminate container: %w", err)
		}
		return nil
	}
	if err != nil {
		if ctr != nil {
			_ = stop(context.Background())
		}
		return nil, fmt.Errorf("keycloak: container target, image %s: %w\nserver log (last lines):\n%s", l.Image, err, TailFile(logFile, 30))
	}
	base, err := ctr.BaseURL(ctx)
	if err != nil {
		_ = stop(context.Background())
		return nil, err
	}
	info := Info{
		Target:   TargetContainer,
		Version:  l.Version,
		Image:    l.Image,
		BaseURL:  base,
		Admin:    ctr.AdminCredentials(),
		LogFile:  logFile,
		Timeout:  l.Timeout,
		BootTime: time.Since(began),
	}
	return &Server{Info: info, stop: stop}, nil
}
