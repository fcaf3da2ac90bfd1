// The security package of the CredSSP state machines (rdp/credssp_package.hpp) made of a GSSAPI
// context (gss.hpp): an Acceptor on the front, an Initiator towards the host. rdp/ sees only the
// interface; this is where GSSAPI meets it.
//
// "Can seal" is the context being established. That covers raw NTLM both ways and a SPNEGO
// acceptor (it completes on the client's AUTHENTICATE and sends its last token with
// pubKeyAuth); a SPNEGO initiator would need GSS_C_PROT_READY_FLAG, which gss.hpp does not
// expose yet, so the host leg speaks raw NTLM, as FreeRDP 2 does towards Windows hosts.
#pragma once

#include <optional>

#include "proxy/nla/gss.hpp"
#include "rdp/credssp_package.hpp"

namespace rdpbridge::nla {

template <class GssContext>  // Acceptor or Initiator
class GssPackage final : public rdp::credssp::SecurityPackage {
  public:
    explicit GssPackage(GssContext& context) : context_(context) {}

    rdp::Result<rdp::credssp::PackageStep> step(ByteView peer_token) override {
        auto s = context_.step(peer_token);
        if (!s) return failed(s.error());
        return rdp::credssp::PackageStep{std::move(s->token), s->done};
    }
    rdp::Result<Bytes> wrap(ByteView plain) override {
        auto sealed = context_.wrap(plain);
        if (!sealed) return failed(sealed.error());
        return std::move(*sealed);
    }
    rdp::Result<rdp::Secret> unwrap(ByteView sealed) override {
        auto plain = context_.unwrap(sealed);
        if (!plain) return failed(plain.error());
        return rdp::Secret(std::move(*plain));
    }

    // Why the package last refused, for the diagnosis (wrong password vs unknown user...).
    const std::optional<GssError>& last_error() const { return last_error_; }

  private:
    rdp::Error failed(const GssError& e) {
        last_error_ = e;
        return {e.operation, e.message()};
    }

    GssContext& context_;
    std::optional<GssError> last_error_;
};

}  // namespace rdpbridge::nla
