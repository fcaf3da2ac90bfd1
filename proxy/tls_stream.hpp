// A TLS stream on a TCP socket, without asio::ssl::stream's buffers.
//
// Why not asio::ssl::stream: it keeps four ~17 KB buffers per stream for the stream's whole life
// (two in its core, two in the BIO pair it puts between OpenSSL and the socket), copies every
// byte through them, and writes one TLS record per write(2). A session has two streams, so at
// 10,000 idle sessions those buffers alone are 1.3 GiB, and under load each record costs a
// system call and a wake-up of the receiver. Here:
//  - OpenSSL reads the socket itself, several records per read(2) (read-ahead), into its own
//    buffer, which SSL_MODE_RELEASE_BUFFERS (set by tls/context.cpp) frees whenever it is empty;
//  - what OpenSSL writes (records, alerts, handshake flights) is collected in `out_` and sent
//    with one send(2) when the OpenSSL call returns; `out_` is freed once sent.
// An idle stream therefore holds no buffer at all.
//
// The socket is non-blocking; when OpenSSL wants to read, the operation waits for the socket to
// become readable and calls OpenSSL again. Like asio::ssl::stream, it allows one read and one
// write operation at a time, concurrently, on one thread.
//
// Errors are reported as asio::ssl::stream reports them, so the session's diagnosis does not
// care which stream it has: OpenSSL errors in asio's SSL category (value = the packed
// ERR_get_error() code), a clean close_notify as asio::error::eof, a peer that vanished without
// close_notify as asio::ssl::error::stream_truncated, socket errors as system errors.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "proxy/asio.hpp"

namespace rdpbridge::proxy {

class TlsStream {
  public:
    using executor_type = tcp::socket::executor_type;
    using lowest_layer_type = tcp::socket;
    using next_layer_type = tcp::socket;

    TlsStream(tcp::socket socket, SSL_CTX* ctx);
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    executor_type get_executor() { return socket_.get_executor(); }
    tcp::socket& lowest_layer() { return socket_; }
    tcp::socket& next_layer() { return socket_; }
    SSL* native_handle() { return ssl_.get(); }

    // Completes with void(error_code).
    template <class Token>
    auto async_handshake(asio::ssl::stream_base::handshake_type type, Token&& token) {
        if (type == asio::ssl::stream_base::client)
            SSL_set_connect_state(ssl_.get());
        else
            SSL_set_accept_state(ssl_.get());
        return start<false>([](TlsStream& s, std::size_t&) { return SSL_do_handshake(s.ssl()); },
                            std::forward<Token>(token));
    }

    // Sends close_notify and completes; it does not wait for the peer's (the gateway closes the
    // socket next, so waiting would only hold the session longer). Completes with
    // void(error_code).
    template <class Token>
    auto async_shutdown(Token&& token) {
        return start<false>(
            [](TlsStream& s, std::size_t&) {
                const int r = SSL_shutdown(s.ssl());
                return r == 0 ? 1 : r;  // 0: ours is sent, the peer's not seen yet
            },
            std::forward<Token>(token));
    }

    // Completes with void(error_code) once a read would return data at once, without the caller
    // holding a buffer meanwhile: the relay allocates its buffer only then.
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return start<false>(
            [](TlsStream& s, std::size_t&) {
                if (SSL_has_pending(s.ssl()) == 1) return 1;
                unsigned char byte = 0;
                std::size_t n = 0;
                return SSL_peek_ex(s.ssl(), &byte, 1, &n);
            },
            std::forward<Token>(token));
    }

    // Completes with void(error_code, std::size_t) once at least one byte is read; takes every
    // record OpenSSL already holds, up to the buffer's size.
    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        const asio::mutable_buffer b = *asio::buffer_sequence_begin(buffers);
        return start<true>(
            [b](TlsStream& s, std::size_t& done) {
                auto* p = static_cast<unsigned char*>(b.data());
                const int r = SSL_read_ex(s.ssl(), p, b.size(), &done);
                while (r == 1 && done < b.size() && SSL_has_pending(s.ssl()) == 1) {
                    std::size_t more = 0;
                    if (SSL_read_ex(s.ssl(), p + done, b.size() - done, &more) != 1) break;
                    done += more;
                }
                return r;
            },
            std::forward<Token>(token));
    }

    // Completes with void(error_code, std::size_t) once the whole buffer is sealed and sent.
    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        const asio::const_buffer b = *asio::buffer_sequence_begin(buffers);
        return start<true>(
            [b](TlsStream& s, std::size_t& done) {
                // Room for the records' headers, MACs and padding: one allocation per write.
                s.out_.reserve(s.out_.size() + b.size() + b.size() / 32 + 512);
                std::size_t n = 0;
                const int r = SSL_write_ex(s.ssl(), b.data(), b.size(), &n);
                done = r == 1 ? n : 0;
                return r;
            },
            std::forward<Token>(token));
    }

  private:
    friend struct OutputBio;

    struct SslDeleter {
        void operator()(SSL* s) const { SSL_free(s); }
    };

    SSL* ssl() { return ssl_.get(); }

    enum class Flush { done, blocked, failed };
    // Sends what OpenSSL wrote; frees the buffer once everything is out.
    Flush flush(boost::system::error_code& ec);

    // Repeats one OpenSSL call until it neither wants to read nor has output to send.
    template <class Fn, bool kCountsBytes>
    struct Call {
        Call(TlsStream* s, Fn f) : stream(s), fn(std::move(f)) {}

        TlsStream* stream;
        Fn fn;  // int(TlsStream&, std::size_t& done): 1 on success, else the SSL_* return value
        enum class Step { first, again, deliver } step = Step::first;
        std::optional<boost::system::error_code> outcome;  // set once OpenSSL has answered
        std::size_t done = 0;

        template <class Self>
        void operator()(Self& self, boost::system::error_code wait_error = {}) {
            if (step == Step::deliver) return finish(self);
            if (wait_error) return complete(self, wait_error);
            for (;;) {
                // A closed socket's descriptor number may already belong to another
                // connection: it must never be read or written again.
                if (!stream->socket_.is_open())
                    return complete(self, asio::error::operation_aborted);
                // What OpenSSL wrote (records, a handshake flight, an alert explaining a
                // failure) leaves before the operation waits or reports.
                if (!sent(self)) return;
                if (outcome) return complete(self, *outcome);
                ERR_clear_error();
                errno = 0;
                const int r = fn(*stream, done);
                if (r == 1) {
                    outcome.emplace();
                    continue;
                }
                switch (SSL_get_error(stream->ssl(), r)) {
                    case SSL_ERROR_WANT_READ:
                        // OpenSSL has just found nothing to read. A flight it wrote goes out
                        // first; the answer to it cannot be here yet, so the operation waits
                        // for it rather than asking OpenSSL again (one read(2) that could only
                        // fail with EAGAIN, three times per session's handshakes).
                        if (!sent(self)) return;
                        return wait(self, tcp::socket::wait_read);
                    case SSL_ERROR_WANT_WRITE:
                        return wait(self, tcp::socket::wait_write);
                    case SSL_ERROR_ZERO_RETURN:
                        outcome = asio::error::eof;
                        continue;
                    default:
                        outcome = openssl_error();
                        continue;
                }
            }
        }

        // Sends what OpenSSL wrote. False when the operation cannot go on now: it waits for the
        // socket to take more, or it has completed with the send's error.
        template <class Self>
        bool sent(Self& self) {
            boost::system::error_code ec;
            switch (stream->flush(ec)) {
                case Flush::done:
                    return true;
                case Flush::blocked:
                    wait(self, tcp::socket::wait_write);
                    return false;
                case Flush::failed:
                    complete(self, outcome ? *outcome : ec);
                    return false;
            }
            return false;
        }

        template <class Self>
        void wait(Self& self, tcp::socket::wait_type what) {
            step = Step::again;
            stream->socket_.async_wait(what, std::move(self));
        }

        // Completing inside the initiating call would run the caller's continuation before it
        // has finished starting the operation: defer it through the executor, as Asio does.
        template <class Self>
        void complete(Self& self, boost::system::error_code ec) {
            outcome = ec;
            if (step == Step::first) {
                step = Step::deliver;
                return asio::post(stream->get_executor(), std::move(self));
            }
            finish(self);
        }

        template <class Self>
        void finish(Self& self) {
            const boost::system::error_code ec = outcome.value_or(boost::system::error_code{});
            if constexpr (kCountsBytes)
                self.complete(ec, ec ? 0 : done);
            else
                self.complete(ec);
        }
    };

    static boost::system::error_code openssl_error();

    template <bool kCountsBytes, class Fn, class Token>
    auto start(Fn fn, Token&& token) {
        using Signature =
            std::conditional_t<kCountsBytes, void(boost::system::error_code, std::size_t),
                               void(boost::system::error_code)>;
        return asio::async_compose<Token, Signature>(Call<Fn, kCountsBytes>(this, std::move(fn)),
                                                     token, socket_);
    }

    tcp::socket socket_;
    std::unique_ptr<SSL, SslDeleter> ssl_;
    std::vector<uint8_t> out_;  // sealed bytes OpenSSL wrote, not yet sent
    std::size_t sent_ = 0;      // how much of out_ is already sent
};

}  // namespace rdpbridge::proxy
