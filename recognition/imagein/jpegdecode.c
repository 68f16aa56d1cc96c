#include "jpegdecode.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

// libjpeg reports a fatal error by calling error_exit, which must not
// return: it jumps back to imagein_jpeg_decode. Only C frames lie between
// (the Mat is created before the first row is decoded and holds no C++
// state across the jump), so longjmp skips no destructor.
struct decode_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char* msg;
    size_t msglen;
};

static void decode_error_exit(j_common_ptr cinfo) {
    struct decode_error* e = (struct decode_error*)cinfo->err;
    if (e->msglen > 0) {
        char text[JMSG_LENGTH_MAX];
        cinfo->err->format_message(cinfo, text);
        snprintf(e->msg, e->msglen, "%s", text);
    }
    longjmp(e->jump, 1);
}

// Warnings (corrupt data that libjpeg decodes past, as OpenCV does) are
// not printed on the station's standard error.
static void decode_output_message(j_common_ptr cinfo) { (void)cinfo; }

int imagein_jpeg_decode(const unsigned char* buf, size_t len, int denom, void* dst, char* msg, size_t msglen) {
    struct jpeg_decompress_struct cinfo;
    struct decode_error err;
    if (msglen > 0) {
        msg[0] = 0;
    }
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = decode_error_exit;
    err.pub.output_message = decode_output_message;
    err.msg = msg;
    err.msglen = msglen;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return 2;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    // Grey from a grey or YCbCr JPEG, as OpenCV's IMREAD_GRAYSCALE: the
    // luminance channel alone, no colour conversion.
    cinfo.out_color_space = JCS_GRAYSCALE;
    cinfo.scale_num = 1;
    cinfo.scale_denom = (unsigned int)denom;
    jpeg_start_decompress(&cinfo);
    size_t step = 0;
    unsigned char* data = imagein_mat_create(dst, (int)cinfo.output_height, (int)cinfo.output_width, &step);
    if (data == NULL) {
        snprintf(msg, msglen, "no memory for a %ux%u page", cinfo.output_width, cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        return 2;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rows[16];
        JDIMENSION n = cinfo.output_height - cinfo.output_scanline;
        if (n > 16) {
            n = 16;
        }
        for (JDIMENSION i = 0; i < n; i++) {
            rows[i] = data + (size_t)(cinfo.output_scanline + i) * step;
        }
        jpeg_read_scanlines(&cinfo, rows, n);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}
