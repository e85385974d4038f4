{
  "targets": [
    {
      "target_name": "fusedrnn_avx2",
      "type": "static_library",
      "sources": ["native/cpu/isa_avx2.cc"],
      "include_dirs": ["."],
      "cflags_cc!": ["-std=gnu++14", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fPIC", "-fvisibility=hidden", "-ffp-contract=fast", "-fno-math-errno"],
      "conditions": [["target_arch=='x64'", { "cflags_cc": ["-mavx2", "-mfma"] }]]
    },
    {
      "target_name": "fusedrnn_avx512",
      "type": "static_library",
      "sources": ["native/cpu/isa_avx512.cc"],
      "include_dirs": ["."],
      "cflags_cc!": ["-std=gnu++14", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fPIC", "-fvisibility=hidden", "-ffp-contract=fast", "-fno-math-errno"],
      "conditions": [["target_arch=='x64'", { "cflags_cc": ["-mavx512f", "-mavx2", "-mfma"] }]]
    },
    {
      "target_name": "fusedrnn_neon",
      "type": "static_library",
      "sources": ["native/cpu/isa_neon.cc"],
      "include_dirs": ["."],
      "cflags_cc!": ["-std=gnu++14", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fPIC", "-fvisibility=hidden", "-ffp-contract=fast", "-fno-math-errno"]
    },
    {
      "target_name": "fusedrnn",
      "dependencies": ["fusedrnn_avx2", "fusedrnn_avx512", "fusedrnn_neon"],
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native',{recursive:true}).map(f=>'native/'+f.split(require('path').sep).join('/')).filter(f=>f.endsWith('.cc')&&!f.startsWith('native/harness/')&&!/\\/isa_(avx|neon)/.test(f)).sort().join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "."
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "FRNN_BUILD_SYSTEM=\"node-gyp\""
      ],
      "configurations": {
        "Release": { "defines": ["NDEBUG"] }
      },
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "cflags": ["-fvisibility=hidden"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] }
      }
    }
  ]
}
