# Writes the file IN as a C++ raw string constant into OUT.
file(READ ${IN} TEXT)
file(WRITE ${OUT}
  "static const char kLibraryName[] = \"gfl-stdlib/objectives.gfl\";\n"
  "static const char kStandardLibrary[] = R\"gflstdlib(${TEXT})gflstdlib\";\n")
