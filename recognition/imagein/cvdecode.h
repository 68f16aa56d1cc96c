#ifndef GIASCAN_IMAGEIN_CVDECODE_H
#define GIASCAN_IMAGEIN_CVDECODE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// imagein_imdecode decodes buf into the cv::Mat that dst points to, as 8-bit
// grey, reduced by denom (1, 2, 4 or 8; JPEG only for more than 1). It
// returns 0 on success, 1 when OpenCV could not decode the data and 2 when
// OpenCV threw; then msg holds the reason (always NUL-terminated).
int imagein_imdecode(const unsigned char* buf, size_t len, int denom, void* dst, char* msg, size_t msglen);

#ifdef __cplusplus
}
#endif

#endif
