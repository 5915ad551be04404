package kccontainer_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"kcconform/pkg/kccontainer"
)

// ExampleRun starts Keycloak in a container, asks its token endpoint for a
// token of the bootstrap administrator, and removes the container again.
// KC_IMAGE names the image (default quay.io/keycloak/keycloak:26.7.3).
func ExampleRun() {
	ctx := context.Background()
	img := os.Getenv("KC_IMAGE")
	if img == "" {
		img = "quay.io/keycloak/keycloak:26.7.3"
	}
	ctr, err := kccontainer.Run(ctx, img, kccontainer.WithAdminCredentials("admin", "example-password"))
	defer func() {
		if err := ctr.Terminate(context.Background()); err != nil {
			fmt.Println("terminate:", err)
		}
	}()
	if err != nil {
		fmt.Println("run:", err)
		return
	}

	tokenURL, err := ctr.TokenEndpoint(ctx, "master")
	if err != nil {
		fmt.Println(err)
		return
	}
	form := "grant_type=password&client_id=admin-cli&username=admin&password=example-password"
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Post(tokenURL, "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println("token endpoint:", tokenURL[strings.LastIndex(tokenURL, "/realms/"):])
	fmt.Println("status:", resp.StatusCode)

	// Output:
	// token endpoint: /realms/master/protocol/openid-connect/token
	// status: 200
}
