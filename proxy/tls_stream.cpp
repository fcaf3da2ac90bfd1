#include "proxy/tls_stream.hpp"

#include <sys/socket.h>

namespace rdpbridge::proxy {

// The write side of every TlsStream: a BIO that appends to the stream's `out_` and never blocks,
// so OpenSSL never sees a partial write and the stream decides when the bytes go out.
struct OutputBio {
    static int write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
        auto* stream = static_cast<TlsStream*>(BIO_get_data(bio));
        stream->out_.insert(stream->out_.end(), data, data + size);
        *written = size;
        return 1;
    }
    static long ctrl(BIO* bio, int cmd, long, void*) {
        switch (cmd) {
            case BIO_CTRL_FLUSH:
                return 1;  // the stream sends out_ when the call returns
            case BIO_CTRL_WPENDING: {
                auto* stream = static_cast<TlsStream*>(BIO_get_data(bio));
                return static_cast<long>(stream->out_.size() - stream->sent_);
            }
            default:
                return 0;
        }
    }
    static BIO_METHOD* method() {
        static BIO_METHOD* const m = [] {
            BIO_METHOD* made =
                BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rdpbridge output");
            if (!made || BIO_meth_set_write_ex(made, write) != 1 ||
                BIO_meth_set_ctrl(made, ctrl) != 1)
                throw std::runtime_error("BIO_meth_new failed");
            return made;
        }();
        return m;
    }
};

TlsStream::TlsStream(tcp::socket socket, SSL_CTX* ctx)
    : socket_(std::move(socket)), ssl_(SSL_new(ctx)) {
    if (!ssl_) throw std::runtime_error("SSL_new failed");
    // The session's deadline may have closed the socket already; then every operation reports
    // operation_aborted (see is_open() in Call) instead of this constructor throwing.
    // Asio has usually made the descriptor non-blocking already (for the connect, or the X.224
    // read); OpenSSL's reads need it so, and another ioctl(2) per stream would be wasted.
    boost::system::error_code ignored;
    if (!socket_.native_non_blocking()) socket_.native_non_blocking(true, ignored);
    // The socket BIO does not own the descriptor: the socket closes it (see is_open() in Call).
    BIO* in = BIO_new_socket(static_cast<int>(socket_.native_handle()), BIO_NOCLOSE);
    BIO* out = BIO_new(OutputBio::method());
    if (!in || !out) {
        BIO_free(in);
        BIO_free(out);
        throw std::runtime_error("BIO_new failed");
    }
    BIO_set_data(out, this);
    BIO_set_init(out, 1);
    SSL_set_bio(ssl_.get(), in, out);
    // Up to four full records per read(2); the buffer is freed whenever it is empty.
    SSL_set_read_ahead(ssl_.get(), 1);
    SSL_set_default_read_buffer_len(ssl_.get(), 4 * (SSL3_RT_MAX_PLAIN_LENGTH + 512));
}

TlsStream::Flush TlsStream::flush(boost::system::error_code& ec) {
    // send(2) itself, not socket_.send(): Asio's synchronous send would wait in poll(2) for a
    // socket it was not told (by another ioctl) is meant to be non-blocking.
    while (sent_ < out_.size()) {
        const ssize_t n = ::send(socket_.native_handle(), out_.data() + sent_, out_.size() - sent_,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Flush::blocked;
        if (n < 0) {
            ec.assign(errno, boost::system::system_category());
            return Flush::failed;
        }
        sent_ += static_cast<std::size_t>(n);
    }
    std::vector<uint8_t>().swap(out_);  // an idle stream holds nothing
    sent_ = 0;
    return Flush::done;
}

boost::system::error_code TlsStream::openssl_error() {
    const int saved_errno = errno;
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) {
        if (saved_errno != 0) return {saved_errno, boost::system::system_category()};
        return asio::ssl::error::stream_truncated;
    }
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return asio::ssl::error::stream_truncated;
    return {static_cast<int>(e), asio::error::get_ssl_category()};
}

}  // namespace rdpbridge::proxy
