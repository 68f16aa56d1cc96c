#ifndef GIASCAN_IMAGEIN_JPEGDECODE_H
#define GIASCAN_IMAGEIN_JPEGDECODE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// imagein_jpeg_decode decodes the JPEG in buf as 8-bit grey at 1/denom of
// its size (denom 1, 2, 4 or 8; libjpeg's DCT-domain scaling) into the
// cv::Mat that dst points to, whose pixels come from imagein_mat_create.
// It returns 0 on success and 2 on failure; then msg holds libjpeg's reason
// (always NUL-terminated).
int imagein_jpeg_decode(const unsigned char* buf, size_t len, int denom, void* dst, char* msg, size_t msglen);

// imagein_mat_create makes the cv::Mat that dst points to rows×cols 8-bit
// single-channel, its pixels from a pool of released page buffers, and
// returns its first row and its row step; NULL when it could not.
unsigned char* imagein_mat_create(void* dst, int rows, int cols, size_t* step);

#ifdef __cplusplus
}
#endif

#endif
