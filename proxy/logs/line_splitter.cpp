#include "proxy/logs/line_splitter.hpp"

namespace rdpbridge::logs {

void LineSplitter::emit(std::string_view text, bool unterminated, const LineFn& on_line) {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    ++number_;
    on_line(Line{overflow_ ? std::string_view() : text, number_, overflow_, unterminated});
    overflow_ = false;
}

void LineSplitter::feed(std::string_view bytes, const LineFn& on_line) {
    while (!bytes.empty()) {
        const auto nl = bytes.find('\n');
        const auto piece = bytes.substr(0, nl);
        if (!overflow_ && partial_.size() + piece.size() > max_line_) {
            overflow_ = true;
            partial_.clear();
        }
        if (nl == std::string_view::npos) {
            if (!overflow_) partial_.append(piece);
            return;
        }
        if (overflow_ || partial_.empty()) {
            emit(piece, false, on_line);  // the common case: no copy
        } else {
            partial_.append(piece);
            emit(partial_, false, on_line);
            partial_.clear();
        }
        bytes.remove_prefix(nl + 1);
    }
}

void LineSplitter::finish(const LineFn& on_line) {
    if (!overflow_ && partial_.empty()) return;
    emit(partial_, true, on_line);
    partial_.clear();
}

void LineSplitter::reset() {
    partial_.clear();
    overflow_ = false;
    number_ = 0;
}

}  // namespace rdpbridge::logs
