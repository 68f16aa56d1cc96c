#include "cvdecode.h"

#include <cstdio>
#include <exception>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

// The shim exists because a C++ exception that leaves a cgo call aborts the
// whole process: OpenCV asserts outside its decoders' own try blocks (image
// size validation, allocation), and gocv's IMDecode does not catch them.
// Wrapping the Go buffer in a Mat header also saves gocv's copy of the input.
int imagein_imdecode(const unsigned char* buf, size_t len, int denom, void* dst, char* msg, size_t msglen) {
    if (msglen > 0) {
        msg[0] = 0;
    }
    try {
        cv::Mat* out = static_cast<cv::Mat*>(dst);
        const cv::Mat src(1, static_cast<int>(len), CV_8UC1, const_cast<unsigned char*>(buf));
        int flags = cv::IMREAD_GRAYSCALE;
        switch (denom) {
        case 2:
            flags = cv::IMREAD_REDUCED_GRAYSCALE_2;
            break;
        case 4:
            flags = cv::IMREAD_REDUCED_GRAYSCALE_4;
            break;
        case 8:
            flags = cv::IMREAD_REDUCED_GRAYSCALE_8;
            break;
        }
        *out = cv::imdecode(src, flags);
        return out->empty() ? 1 : 0;
    } catch (const cv::Exception& e) {
        std::snprintf(msg, msglen, "%s", e.err.c_str());
    } catch (const std::exception& e) {
        std::snprintf(msg, msglen, "%s", e.what());
    } catch (...) {
        std::snprintf(msg, msglen, "unknown C++ exception");
    }
    return 2;
}
