// Replays the fuzz seed corpus (tests/fuzz/corpus/<target>/) and every saved crash
// (tests/fuzz/crashes/<target>-<sha1>.bin) through the same harness bodies libFuzzer runs, with
// their oracles turned into test failures. Under the ASan+UBSan build a memory error aborts the
// test binary, as it would abort the fuzzer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/harness.hpp"

namespace {

namespace fs = std::filesystem;
using rdpbridge::fuzz::OracleFailure;

const fs::path kFuzzDir = RDPBRIDGE_FUZZ_DIR;

rdpbridge::rdp::Bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) ADD_FAILURE() << "cannot read " << path;
    return rdpbridge::rdp::Bytes(std::istreambuf_iterator<char>(in),
                                 std::istreambuf_iterator<char>());
}

std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> files;
    if (!fs::is_directory(dir)) return files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename().string().front() != '.')
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

// Runs one input; an oracle failure or a C++ exception becomes a test failure naming the file.
void replay(const rdpbridge::fuzz::Target& target, const fs::path& file) {
    const auto bytes = read_file(file);
    try {
        target.run(bytes);
    } catch (const OracleFailure& e) {
        ADD_FAILURE() << target.name << " on " << file << ": " << e.message;
    } catch (const std::exception& e) {
        ADD_FAILURE() << target.name << " on " << file << ": exception " << e.what();
    }
}

class FuzzReplay : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override { rdpbridge::fuzz::set_throw_on_failure(true); }
    void TearDown() override { rdpbridge::fuzz::set_throw_on_failure(false); }
};

std::vector<std::string> target_names() {
    std::vector<std::string> names;
    for (const auto& t : rdpbridge::fuzz::targets()) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> crash_files() {
    std::vector<std::string> names;
    for (const auto& f : files_in(kFuzzDir / "crashes"))
        if (f.extension() == ".bin") names.push_back(f.filename().string());
    return names;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
    std::string s = info.param;
    if (s.ends_with(".bin")) s.resize(s.size() - 4);
    std::replace_if(
        s.begin(), s.end(), [](char c) { return !std::isalnum(uint8_t(c)); }, '_');
    return s;
}

// Every harness has seeds, and the real captured PDUs satisfy every oracle.
using SeedCorpus = FuzzReplay;
TEST_P(SeedCorpus, PassesEveryOracle) {
    const auto* target = rdpbridge::fuzz::find_target(GetParam());
    ASSERT_NE(target, nullptr);
    const auto files = files_in(kFuzzDir / "corpus" / GetParam());
    ASSERT_FALSE(files.empty()) << "no seeds in tests/fuzz/corpus/" << GetParam()
                                << " (tests/fuzz/make_corpus.py writes them)";
    for (const auto& f : files) replay(*target, f);
}
INSTANTIATE_TEST_SUITE_P(Fuzz, SeedCorpus, ::testing::ValuesIn(target_names()), test_name);

// Inputs that once crashed a fuzzer stay fixed.
using SavedCrash = FuzzReplay;
TEST_P(SavedCrash, NoLongerFails) {
    const std::string file = GetParam();
    const std::string target_name = file.substr(0, file.find('-'));
    const auto* target = rdpbridge::fuzz::find_target(target_name);
    if (!target)
        GTEST_SKIP() << target_name << " is not built yet (see tests/fuzz/harnesses.cmake)";
    replay(*target, kFuzzDir / "crashes" / file);
}
INSTANTIATE_TEST_SUITE_P(Fuzz, SavedCrash, ::testing::ValuesIn(crash_files()), test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SavedCrash);

// The harness machinery itself: an oracle failure is reported, not swallowed.
TEST(FuzzHarness, OracleFailureThrowsUnderTests) {
    rdpbridge::fuzz::set_throw_on_failure(true);
    EXPECT_THROW(FUZZ_CHECK(1 + 1 == 3, "arithmetic"), OracleFailure);
    EXPECT_NO_THROW(FUZZ_CHECK(1 + 1 == 2, "arithmetic"));
    rdpbridge::fuzz::set_throw_on_failure(false);
}

TEST(FuzzHarness, EveryHarnessRegisteredOnce) {
    const auto names = target_names();
    EXPECT_FALSE(names.empty());
    EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
    for (const auto& n : names) EXPECT_TRUE(n.starts_with("fuzz_")) << n;
}

}  // namespace
