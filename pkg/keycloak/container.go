package keycloak

import "errors"

func newContainerLauncher(Config) (Launcher, error) {
	return nil, errors.New("KC_TARGET=container: not available in this build yet; use KC_TARGET=process")
}
