// Path and directory helpers (no std::filesystem in error paths: we want errno-based
// messages that name the path).
#pragma once

#include <string>
#include <vector>

namespace ramsafe {

std::string join_path(const std::string& a, const std::string& b);
std::string parent_dir(const std::string& path);  // "." for a bare name
std::string base_name(const std::string& path);
bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
// Entries of a directory, without "." and "..", sorted by name.
std::vector<std::string> list_dir(const std::string& path);
void make_dirs(const std::string& path, unsigned mode = 0700);  // like mkdir -p
// Removes a file or a directory tree; missing is not an error. Never follows a link below
// path's directory nor crosses a mount point (core/io/dir.cc, Dir::remove_tree).
void remove_tree(const std::string& path);
// A relative path that stays below its base: not empty, not absolute, no empty, "." or
// ".." component.
bool is_safe_relative_path(const std::string& path);

}  // namespace ramsafe
