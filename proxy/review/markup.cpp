#include "proxy/review/markup.hpp"

namespace rdpbridge::review {

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string short_time(std::string_view t) {
    // Only the gateway's own form is shortened; anything else is shown as logged.
    if (t.size() < 19 || t[4] != '-' || t[10] != 'T' || t[13] != ':' || t.back() != 'Z')
        return std::string(t);
    return std::string(t.substr(0, 10)) + " " + std::string(t.substr(11, 8));
}

std::string time_element(std::string_view t) {
    if (t.empty()) return "&mdash;";
    std::string shown = escape(short_time(t));
    // Date and clock each kept whole, so that a narrow column breaks between them only.
    if (const auto space = shown.find(' '); space != std::string::npos)
        shown = "<span>" + shown.substr(0, space) + "</span> <span>" + shown.substr(space + 1) +
                "</span>";
    return "<time datetime=\"" + escape(t) + "\">" + shown + "</time>";
}

std::string cause_link(std::string_view cause) {
    return "<a href=\"#cause-" + escape(cause) + "\"><code>" + escape(cause) + "</code></a>";
}

}  // namespace rdpbridge::review
