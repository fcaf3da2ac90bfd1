/* LD_PRELOAD shim for the lab: makes an OpenSSL 3 server (or client) speak TLS 1.0 only with the
 * old RSA-kx AES-CBC ciphers, like Windows 7 / Server 2008 R2. FreeRDP's server ignores
 * OPENSSL_CONF protocol limits, so every SSL object is limited right after SSL_new.
 * Built by tests/lab/lab.py on first use: cc -shared -fPIC -o tls10_only_preload.so THIS -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <openssl/ssl.h>

SSL *SSL_new(SSL_CTX *ctx)
{
    static SSL *(*real_ssl_new)(SSL_CTX *) = NULL;
    if (real_ssl_new == NULL)
        real_ssl_new = (SSL *(*)(SSL_CTX *))dlsym(RTLD_NEXT, "SSL_new");
    if (real_ssl_new == NULL)
        return NULL;
    SSL *ssl = real_ssl_new(ctx);
    if (ssl != NULL) {
        /* Security level first: TLS 1.0 and SHA-1 ciphers are below level 1. */
        SSL_set_security_level(ssl, 0);
        SSL_set_min_proto_version(ssl, TLS1_VERSION);
        SSL_set_max_proto_version(ssl, TLS1_VERSION);
        SSL_set_cipher_list(ssl, "AES256-SHA:AES128-SHA");
    }
    return ssl;
}
