#pragma once
// A strict reader of the XML subset qkv writes (SVG files), for tests: it checks well-formedness
// (one root element, matching tags, quoted attributes, no raw '<' or stray '&' in text or
// attribute values, known entities only, valid UTF-8) and returns the elements in document
// order. Anything else (DOCTYPE, CDATA, processing instructions besides the XML declaration) is
// reported as an error, which is what a test wants.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace qkv::test {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;  // values with entities resolved
  std::string text;                                // the character data directly inside it
};

struct XmlDocument {
  std::vector<XmlElement> elements;
  std::string error;  // empty when well-formed
  bool ok() const { return error.empty(); }
  std::size_t count(const std::string& name, const std::string& cls = "") const {
    std::size_t n = 0;
    for (const auto& e : elements)
      if (e.name == name && (cls.empty() || (e.attributes.count("class") && e.attributes.at("class") == cls))) ++n;
    return n;
  }
};

namespace xml_detail {

inline bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

inline bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == ':' || c == '.';
}

class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}

  XmlDocument read() {
    XmlDocument doc;
    try {
      if (!valid_utf8(s_)) throw std::string("not valid UTF-8");
      if (s_.compare(0, 5, "<?xml") == 0) {
        const auto end = s_.find("?>");
        if (end == std::string::npos) throw std::string("unterminated XML declaration");
        i_ = end + 2;
      }
      skip_misc();
      if (i_ >= s_.size() || s_[i_] != '<') throw std::string("no root element");
      element(doc.elements);
      skip_misc();
      if (i_ != s_.size()) throw std::string("content after the root element");
    } catch (const std::string& message) {
      doc.error = message + " (at byte " + std::to_string(i_) + ")";
    }
    return doc;
  }

 private:
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  void skip_misc() {
    for (skip_space(); s_.compare(i_, 4, "<!--") == 0; skip_space()) {
      const auto end = s_.find("-->", i_ + 4);
      if (end == std::string::npos) throw std::string("unterminated comment");
      i_ = end + 3;
    }
  }
  std::string name() {
    const std::size_t start = i_;
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    if (i_ == start) throw std::string("expected a name");
    return s_.substr(start, i_ - start);
  }
  // Character data up to `stop`, entities resolved.
  std::string chars(char stop) {
    std::string out;
    while (i_ < s_.size() && s_[i_] != stop) {
      if (s_[i_] == '<') throw std::string("raw '<' in character data");
      if (s_[i_] != '&') {
        out += s_[i_++];
        continue;
      }
      const auto end = s_.find(';', i_);
      if (end == std::string::npos) throw std::string("unterminated entity");
      const std::string entity = s_.substr(i_ + 1, end - i_ - 1);
      static const std::map<std::string, std::string> named = {
          {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
      if (named.count(entity)) out += named.at(entity);
      else if (entity.size() > 1 && entity[0] == '#') out += '?';  // numeric: well-formed enough for our checks
      else throw std::string("unknown entity &" + entity + ";");
      i_ = end + 1;
    }
    return out;
  }
  void element(std::vector<XmlElement>& out) {
    ++i_;  // '<'
    XmlElement e;
    e.name = name();
    const std::size_t index = out.size();
    out.push_back(e);
    for (;;) {
      skip_space();
      if (i_ >= s_.size()) throw std::string("unterminated start tag <" + e.name);
      if (s_.compare(i_, 2, "/>") == 0) {
        i_ += 2;
        return;
      }
      if (s_[i_] == '>') break;
      const std::string attribute = name();
      skip_space();
      if (i_ >= s_.size() || s_[i_] != '=') throw std::string("attribute " + attribute + " without a value");
      ++i_;
      skip_space();
      if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'')) throw std::string("unquoted attribute " + attribute);
      const char quote = s_[i_++];
      const std::string value = chars(quote);
      if (i_ >= s_.size()) throw std::string("unterminated attribute " + attribute);
      ++i_;
      if (out[index].attributes.count(attribute)) throw std::string("duplicate attribute " + attribute);
      out[index].attributes[attribute] = value;
    }
    ++i_;  // '>'
    for (;;) {
      out[index].text += chars('<');
      if (i_ >= s_.size()) throw std::string("unclosed element <" + e.name + ">");
      if (s_.compare(i_, 4, "<!--") == 0) {
        skip_misc();
        continue;
      }
      if (s_.compare(i_, 2, "</") == 0) {
        i_ += 2;
        const std::string closing = name();
        skip_space();
        if (closing != e.name || i_ >= s_.size() || s_[i_] != '>')
          throw std::string("</" + closing + "> closes <" + e.name + ">");
        ++i_;
        return;
      }
      element(out);
    }
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

}  // namespace xml_detail

inline XmlDocument parse_xml(const std::string& text) { return xml_detail::Reader(text).read(); }

}  // namespace qkv::test
