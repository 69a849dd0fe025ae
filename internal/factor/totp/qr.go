package totp

import (
	"encoding/base64"
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// QRDataURI renders uri as a 256-pixel PNG QR code, ready for an <img src>,
// as "data:image/png;base64,…". Medium error correction survives a glare on
// the screen; go-qrcode draws the quiet zone that phone scanners need.
func QRDataURI(uri string) (string, error) {
	png, err := qrcode.Encode(uri, qrcode.Medium, 256)
	if err != nil {
		return "", fmt.Errorf("totp: encode qr code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}
