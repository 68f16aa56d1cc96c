#include "jpegdecode.h"

#include <cstddef>
#include <deque>
#include <mutex>
#include <opencv2/core.hpp>

namespace {

// PagePool is an OpenCV allocator that keeps the pixel buffers of released
// pages for the next page of the same size. A 300 dpi page is megabytes;
// from the system allocator every page is fresh memory that the kernel
// maps in page by page (and glibc hands back after the page), which cost
// as much as a tenth of a page's reading. Scanners deliver pages of one
// size, so an exact-size match nearly always hits. At most maxBlocks
// buffers and maxBytes are kept: what a few workers have in flight.
class PagePool : public cv::MatAllocator {
public:
    cv::UMatData* allocate(int dims, const int* sizes, int type, void* data0, size_t* step, cv::AccessFlag,
        cv::UMatUsageFlags) const override {
        size_t total = CV_ELEM_SIZE(type);
        for (int i = dims - 1; i >= 0; i--) {
            if (step) {
                if (data0 && step[i] != cv::Mat::AUTO_STEP) {
                    CV_Assert(total <= step[i]);
                    total = step[i];
                } else {
                    step[i] = total;
                }
            }
            total *= sizes[i];
        }
        uchar* data = static_cast<uchar*>(data0);
        if (!data) {
            data = take(total);
        }
        if (!data) {
            data = static_cast<uchar*>(cv::fastMalloc(total));
        }
        cv::UMatData* u = new cv::UMatData(this);
        u->data = u->origdata = data;
        u->size = total;
        if (data0) {
            u->flags |= cv::UMatData::USER_ALLOCATED;
        }
        return u;
    }

    bool allocate(cv::UMatData* u, cv::AccessFlag, cv::UMatUsageFlags) const override { return u != nullptr; }

    void deallocate(cv::UMatData* u) const override {
        if (!u) {
            return;
        }
        CV_Assert(u->urefcount == 0);
        CV_Assert(u->refcount == 0);
        if (!(u->flags & cv::UMatData::USER_ALLOCATED)) {
            give(u->origdata, u->size);
            u->origdata = nullptr;
        }
        delete u;
    }

private:
    static const size_t maxBlocks = 4;
    static const size_t maxBytes = size_t(64) << 20;

    struct block {
        uchar* data;
        size_t size;
    };

    uchar* take(size_t size) const {
        std::lock_guard<std::mutex> lock(mu);
        for (auto it = kept.begin(); it != kept.end(); ++it) {
            if (it->size == size) {
                uchar* d = it->data;
                bytes -= size;
                kept.erase(it);
                return d;
            }
        }
        return nullptr;
    }

    void give(uchar* data, size_t size) const {
        std::deque<block> drop;
        {
            std::lock_guard<std::mutex> lock(mu);
            kept.push_back(block{data, size});
            bytes += size;
            while (kept.size() > maxBlocks || bytes > maxBytes) {
                drop.push_back(kept.front());
                bytes -= kept.front().size;
                kept.pop_front();
            }
        }
        for (const block& b : drop) {
            cv::fastFree(b.data);
        }
    }

    mutable std::mutex mu;
    mutable std::deque<block> kept;
    mutable size_t bytes = 0;
};

// Never destroyed: Mats may outlive any static destructor order.
PagePool* pool = new PagePool();

} // namespace

unsigned char* imagein_mat_create(void* dst, int rows, int cols, size_t* step) {
    try {
        cv::Mat* m = static_cast<cv::Mat*>(dst);
        m->release();
        m->allocator = pool;
        m->create(rows, cols, CV_8UC1);
        *step = m->step[0];
        return m->data;
    } catch (...) {
        return nullptr;
    }
}
