#include "tap.h"
int main(void){ return tap_skip_all("not written yet"); }
