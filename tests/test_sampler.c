/* Sampler: greedy, temperature, top-k, top-p and seeding, checked against
 * the distribution they must produce. */
#include <math.h>
#include <string.h>

#include "sampler.h"
#include "tap.h"

#define V 6
#define DRAWS 60000

/* Draws DRAWS samples and returns the empirical frequency of each id. */
static void histogram(const sidr_sampling *cfg, const float *logits, double *freq)
{
    sidr_sampler s;
    sidr_sampler_init(&s, cfg, V);
    int count[V] = { 0 };
    for (int i = 0; i < DRAWS; i++) count[sidr_sampler_sample(&s, logits)]++;
    for (int i = 0; i < V; i++) freq[i] = (double)count[i] / DRAWS;
    sidr_sampler_free(&s);
}

static void softmax_ref(const float *logits, float temp, const int *keep, double *p)
{
    double z = 0;
    for (int i = 0; i < V; i++) z += keep[i] ? (p[i] = exp(logits[i] / temp)) : (p[i] = 0);
    for (int i = 0; i < V; i++) p[i] /= z;
}

static double max_gap(const double *a, const double *b)
{
    double m = 0;
    for (int i = 0; i < V; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

int main(void)
{
    const float logits[V] = { 1.0f, 3.0f, 2.5f, -1.0f, 0.5f, 2.0f };
    double freq[V], want[V];

    sidr_sampling greedy = { 0, 0, 1, 1 };
    sidr_sampler s;
    sidr_sampler_init(&s, &greedy, V);
    tap_ok(sidr_sampler_sample(&s, logits) == 1, "temperature 0 is greedy");
    sidr_sampler_free(&s);
    const float ties[4] = { 2, 5, 5, 1 };
    tap_ok(sidr_argmax(ties, 4) == 1, "argmax takes the first of equal maxima (as torch.argmax)");

    int all[V] = { 1, 1, 1, 1, 1, 1 };
    sidr_sampling t1 = { 1.0f, 0, 1.0f, 7 };
    histogram(&t1, logits, freq);
    softmax_ref(logits, 1.0f, all, want);
    tap_ok(max_gap(freq, want) < 0.01, "temperature 1 follows softmax (max gap %.4f)", max_gap(freq, want));

    sidr_sampling t05 = { 0.5f, 0, 1.0f, 7 };
    histogram(&t05, logits, freq);
    softmax_ref(logits, 0.5f, all, want);
    tap_ok(max_gap(freq, want) < 0.01, "temperature 0.5 sharpens as softmax(l/T) (max gap %.4f)", max_gap(freq, want));

    int top2[V] = { 0, 1, 1, 0, 0, 0 };
    sidr_sampling k2 = { 1.0f, 2, 1.0f, 9 };
    histogram(&k2, logits, freq);
    softmax_ref(logits, 1.0f, top2, want);
    tap_ok(max_gap(freq, want) < 0.01 && freq[0] == 0 && freq[5] == 0,
           "top-k 2 keeps exactly the two best, renormalised (max gap %.4f)", max_gap(freq, want));

    /* Probabilities at T=1: 1: .42, 2: .26, 5: .15, 0: .06 ... top-p 0.6 keeps {1, 2}. */
    sidr_sampling p6 = { 1.0f, 0, 0.6f, 11 };
    histogram(&p6, logits, freq);
    tap_ok(max_gap(freq, want) < 0.01, "top-p 0.6 keeps the smallest set reaching 0.6 (max gap %.4f)", max_gap(freq, want));

    sidr_sampling p_tiny = { 1.0f, 0, 0.01f, 3 };
    histogram(&p_tiny, logits, freq);
    tap_ok(freq[1] == 1.0, "top-p below the best probability keeps only the best token");

    int a[50], b[50], c[50];
    sidr_sampling seeded = { 1.0f, 0, 1.0f, 1234 }, other = { 1.0f, 0, 1.0f, 1235 };
    sidr_sampler s1, s2, s3;
    sidr_sampler_init(&s1, &seeded, V);
    sidr_sampler_init(&s2, &seeded, V);
    sidr_sampler_init(&s3, &other, V);
    for (int i = 0; i < 50; i++) {
        a[i] = sidr_sampler_sample(&s1, logits);
        b[i] = sidr_sampler_sample(&s2, logits);
        c[i] = sidr_sampler_sample(&s3, logits);
    }
    tap_ok(!memcmp(a, b, sizeof a), "the same seed gives the same samples");
    tap_ok(memcmp(a, c, sizeof a) != 0, "another seed gives other samples");
    sidr_sampler_free(&s1);
    sidr_sampler_free(&s2);
    sidr_sampler_free(&s3);

    uint64_t st = 42;
    double sum = 0;
    int in_range = 1;
    for (int i = 0; i < 100000; i++) {
        float r = sidr_rand_f32(&st);
        in_range &= r >= 0 && r < 1;
        sum += r;
    }
    tap_ok(in_range && fabs(sum / 100000 - 0.5) < 0.01, "uniform floats lie in [0,1) with mean 0.5 (%.4f)", sum / 100000);
    return tap_done();
}
