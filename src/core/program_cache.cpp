#include "core/program_cache.hpp"

namespace attnn::detail {

std::shared_ptr<Program> ProgramCache::find(const ProgramKey& key) {
    auto it = programs_.find(key.bytes());
    return it == programs_.end() ? nullptr : it->second;
}

void ProgramCache::insert(const ProgramKey& key, std::shared_ptr<Program> program) {
    programs_[key.bytes()] = std::move(program);
}

}  // namespace attnn::detail
