/* The demo world's static tables: a store of ten departments x four categories
 * x four product types, invented brands with personalities, the intent
 * templates (projects that unfold over several purchases) and word lists.
 * Every name here is made up for the demo. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "demo_internal.h"

#define T(name, plural, title, price, pop, cons, colors, sizes, variants, packs, use) \
    { name, plural, title, price, pop, cons, colors, sizes, variants, packs, use }
#define N NULL

/* name, plural, title noun, price, popularity, consumable, colours, sizes, variants, packs, use */
const demo_dept_def demo_depts[DEMO_DEPTS] = {
    { "Pet Supplies", "pet care", {
        { "Aquarium Setup", {
            T("aquarium tank", "Aquarium Tanks", "Aquarium Tank", 80, 5, 0, 0, "5 Gallon|10 Gallon|20 Gallon|29 Gallon|40 Gallon", "Glass|Acrylic", N, "give a community of fish a stable home"),
            T("aquarium filter", "Aquarium Filters", "Aquarium Filter", 30, 5, 0, 0, "10 Gallon|20 Gallon|30 Gallon|55 Gallon", "Hang-On-Back|Canister|Sponge", N, "keep the water clear and well oxygenated"),
            T("aquarium heater", "Aquarium Heaters", "Submersible Aquarium Heater", 22, 4, 0, 0, "50W|100W|150W|200W", N, N, "hold tropical water at a steady temperature"),
            T("aquarium gravel", "Aquarium Substrates", "Aquarium Gravel", 15, 3, 0, 1, "5 lb|10 lb|25 lb", "Natural|Polished", N, "cover the tank floor and anchor live plants"),
        } },
        { "Aquarium Care", {
            T("water conditioner", "Water Conditioners", "Water Conditioner", 9, 6, 1, 0, "4 oz|8.4 oz|16.9 oz", N, N, "make tap water safe for fish by neutralising chlorine"),
            T("fish food", "Fish Foods", "Tropical Fish Flakes", 7, 6, 1, 0, "1 oz|2.2 oz|7 oz", "Flakes|Micro Pellets|Color Enhancing", N, "feed tropical fish a balanced daily diet"),
            T("aquarium test strips", "Water Test Kits", "Aquarium Test Strips", 14, 3, 1, 0, N, "5-in-1|7-in-1", "25|50|100", "measure ammonia, nitrite, nitrate and pH in a minute"),
            T("algae scraper", "Algae Scrapers", "Magnetic Algae Scraper", 12, 2, 0, 0, "Small|Medium|Large", N, N, "wipe algae off the glass without wet hands"),
        } },
        { "Dog Care", {
            T("dog leash", "Dog Leashes", "Dog Leash", 15, 5, 0, 1, "4 ft|6 ft|10 ft", "Nylon|Leather|Rope", N, "keep walks safe and under control"),
            T("dog bed", "Dog Beds", "Orthopedic Dog Bed", 45, 4, 0, 1, "Small|Medium|Large|X-Large", "Memory Foam|Polyester Fill", N, "give a dog a supportive place to sleep"),
            T("dog food", "Dry Dog Food", "Dry Dog Food", 40, 7, 1, 0, "5 lb|15 lb|30 lb", "Chicken and Rice|Salmon and Sweet Potato|Lamb and Brown Rice", N, "feed a dog complete, balanced nutrition"),
            T("dog chew toy", "Dog Chew Toys", "Dog Chew Toy", 10, 4, 1, 1, "Small|Medium|Large", "Rubber|Nylon|Rope", N, "keep a dog busy and its teeth clean"),
        } },
        { "Cat Care", {
            T("cat litter", "Cat Litter", "Clumping Cat Litter", 18, 7, 1, 0, "10 lb|20 lb|40 lb", "Unscented|Lightly Scented", N, "lock odour away and clump firmly for easy scooping"),
            T("litter box", "Litter Boxes", "Litter Box", 30, 4, 0, 1, "Standard|Large|Jumbo", "Hooded|Open Top|Top Entry", N, "give a cat a tidy, private corner"),
            T("cat scratching post", "Scratching Posts", "Cat Scratching Post", 28, 3, 0, 1, "24 inch|32 inch|40 inch", "Sisal|Carpet", N, "save the furniture from a cat's claws"),
            T("cat food", "Wet Cat Food", "Wet Cat Food", 20, 6, 1, 0, N, "Chicken Pate|Tuna in Gravy|Salmon Feast", "12|24", "feed a cat a complete, grain-free diet"),
        } },
    } },
    { "3D Printing & Electronics", "3D printing and electronics", {
        { "3D Printers", {
            T("FDM 3D printer", "FDM 3D Printers", "FDM 3D Printer", 250, 5, 0, 0, "220x220 mm|235x235 mm|300x300 mm", "Bowden|Direct Drive", N, "print plastic parts layer by layer from a spool of filament"),
            T("resin 3D printer", "Resin 3D Printers", "Resin 3D Printer", 280, 3, 0, 0, "6 inch|7 inch|10 inch", "4K Mono|8K Mono", N, "cure liquid resin into finely detailed miniatures"),
            T("3D printing resin", "Printing Resins", "Standard Photopolymer Resin", 30, 4, 1, 1, "500 g|1 kg|2 kg", "Standard|Water Washable|ABS-Like", N, "cure into crisp, smooth prints under UV light"),
            T("wash and cure station", "Wash and Cure Stations", "Wash and Cure Station", 120, 2, 0, 0, N, "Standard|Plus", N, "clean and post-cure resin prints in one unit"),
        } },
        { "Filament", {
            T("PLA filament", "PLA Filaments", "PLA 3D Printer Filament", 22, 8, 1, 1, "0.5 kg Spool|1 kg Spool|2 kg Spool", "1.75 mm|2.85 mm", N, "print easily at low temperatures with little warping"),
            T("PETG filament", "PETG Filaments", "PETG 3D Printer Filament", 25, 5, 1, 1, "1 kg Spool|2 kg Spool", "1.75 mm|2.85 mm", N, "give tougher, heat-resistant functional parts"),
            T("TPU filament", "Flexible Filaments", "Flexible TPU Filament", 30, 3, 1, 1, "0.5 kg Spool|0.8 kg Spool|1 kg Spool", "95A|85A", N, "print flexible, rubbery parts like gaskets and bumpers"),
            T("filament dryer", "Filament Dryers", "Filament Dryer Box", 50, 3, 0, 0, "Single Spool|Dual Spool", N, N, "drive moisture out of filament for cleaner prints"),
        } },
        { "Printer Parts", {
            T("nozzle kit", "Printer Nozzles", "Nozzle Kit", 10, 5, 1, 0, "0.4 mm|0.2-1.0 mm Assorted", "Brass|Hardened Steel", "10|24", "replace worn or clogged hot-end nozzles"),
            T("build plate", "Build Plates", "Spring Steel Build Plate", 30, 4, 0, 0, "220x220 mm|235x235 mm|310x310 mm", "Smooth PEI|Textured PEI|Glass", N, "hold prints firmly while printing and release them when cool"),
            T("extruder upgrade", "Extruders", "Dual Gear Extruder Upgrade", 40, 3, 0, 0, N, "Aluminum|Direct Drive", N, "grip filament firmly for more reliable feeding"),
            T("printer belt", "Timing Belts", "GT2 Timing Belt", 9, 2, 0, 0, "5 m|10 m", "Rubber|Steel Core", N, "keep the print head moving accurately"),
        } },
        { "Electronics Tools", {
            T("soldering iron", "Soldering Irons", "Soldering Station", 45, 5, 0, 0, "60W|80W|90W", "Analog|Digital Display", N, "heat up in seconds for clean electronics joints"),
            T("solder wire", "Solder Wire", "Rosin Core Solder Wire", 9, 4, 1, 0, "0.6 mm|0.8 mm|1.0 mm", "60/40 Tin Lead|Lead-Free", N, "flow cleanly into through-hole and surface-mount joints"),
            T("multimeter", "Multimeters", "Digital Multimeter", 35, 4, 0, 0, N, "Auto-Ranging|Manual Ranging|True RMS", N, "measure voltage, current and resistance"),
            T("helping hands", "Helping Hands", "Helping Hands Soldering Stand", 18, 2, 0, 0, N, "4 Arm|6 Arm", N, "hold boards and wires steady while soldering"),
        } },
    } },
    { "Kitchen & Coffee", "cooking and coffee", {
        { "Coffee Makers", {
            T("espresso machine", "Espresso Machines", "Espresso Machine", 300, 5, 0, 1, N, "Semi-Automatic|Single Boiler|Dual Boiler", N, "pull cafe-style shots with a 15-bar pump"),
            T("burr grinder", "Coffee Grinders", "Conical Burr Coffee Grinder", 90, 5, 0, 1, N, "Electric|Manual", N, "grind beans evenly from espresso-fine to French-press coarse"),
            T("milk frother", "Milk Frothers", "Milk Frother", 30, 4, 0, 1, N, "Handheld|Electric Jug", N, "turn milk into silky microfoam for lattes"),
            T("pour-over dripper", "Pour-Over Drippers", "Pour-Over Coffee Dripper", 22, 3, 0, 1, "Size 01|Size 02", "Ceramic|Glass|Stainless Steel", N, "brew a clean, bright cup one pour at a time"),
        } },
        { "Coffee Supplies", {
            T("coffee beans", "Whole Bean Coffee", "Whole Bean Coffee", 16, 8, 1, 0, "12 oz|2 lb|5 lb", "Espresso Roast|Medium Roast|Light Roast|Dark Roast", N, "brew rich espresso and filter coffee"),
            T("paper filters", "Coffee Filters", "Paper Coffee Filters", 7, 5, 1, 0, "Size 01|Size 02", "White|Natural Brown", "100|200|400", "catch fine grounds for a clean cup"),
            T("descaling solution", "Descaling Solutions", "Descaling Solution", 14, 3, 1, 0, "8 oz|16 oz", N, "1|2", "dissolve mineral build-up inside coffee machines"),
            T("espresso tamper", "Espresso Tampers", "Espresso Tamper", 25, 3, 0, 0, "51 mm|54 mm|58 mm", "Stainless Steel|Walnut Handle", N, "compress grounds evenly for a balanced extraction"),
        } },
        { "Cookware", {
            T("cast iron skillet", "Skillets", "Pre-Seasoned Cast Iron Skillet", 30, 6, 0, 0, "8 inch|10.25 inch|12 inch", N, N, "sear, bake and fry with even heat"),
            T("dutch oven", "Dutch Ovens", "Dutch Oven", 70, 5, 0, 1, "4.5 qt|6 qt|7.5 qt", "Enameled Cast Iron|Bare Cast Iron", N, "braise, stew and bake crusty bread"),
            T("chef's knife", "Chef's Knives", "Chef's Knife", 45, 5, 0, 0, "6 inch|8 inch|10 inch", "German Steel|Japanese VG10|High-Carbon Stainless", N, "handle everyday chopping, slicing and dicing"),
            T("cutting board", "Cutting Boards", "Cutting Board", 25, 4, 0, 0, "Medium|Large|XL", "End-Grain Walnut|Bamboo|Maple", N, "give knives a forgiving surface"),
        } },
        { "Baking", {
            T("stand mixer", "Stand Mixers", "Tilt-Head Stand Mixer", 250, 4, 0, 1, "4.5 qt|5 qt|6 qt", N, N, "knead dough and whip cream without effort"),
            T("bread flour", "Flours", "Unbleached Bread Flour", 8, 5, 1, 0, "5 lb|10 lb|25 lb", "High-Protein|Organic|Whole Wheat", N, "build strong gluten for chewy, open loaves"),
            T("proofing basket", "Proofing Baskets", "Banneton Proofing Basket", 18, 3, 0, 0, "9 inch Round|10 inch Oval", "Rattan|Wood Pulp", "1|2", "shape dough during the final rise"),
            T("baking sheet", "Baking Sheets", "Baking Sheet Pan", 20, 4, 0, 0, "Quarter Sheet|Half Sheet", "Aluminum|Nonstick Steel", "1|2|3", "bake cookies and roast vegetables evenly"),
        } },
    } },
    { "Tools & Workshop", "woodworking and DIY", {
        { "Power Tools", {
            T("cordless drill", "Drills", "Cordless Drill Driver", 90, 6, 0, 0, "12V|18V|20V MAX", "Brushed|Brushless", N, "drive screws and bore holes anywhere in the shop"),
            T("impact driver", "Impact Drivers", "Impact Driver", 100, 4, 0, 0, "12V|18V|20V MAX", "Brushed|Brushless", N, "sink long screws and lag bolts with ease"),
            T("circular saw", "Circular Saws", "Circular Saw", 110, 4, 0, 0, "6-1/2 inch|7-1/4 inch", "Corded|Cordless", N, "rip and crosscut sheet goods and lumber"),
            T("random orbit sander", "Sanders", "Random Orbit Sander", 60, 4, 0, 0, "5 inch|6 inch", "Corded|Cordless", N, "leave a swirl-free finish on wood"),
        } },
        { "Hand Tools", {
            T("chisel set", "Chisels", "Wood Chisel Set", 40, 3, 0, 0, N, "Bevel Edge|Mortise", "4|6", "pare and chop joinery cleanly"),
            T("hand plane", "Hand Planes", "Bench Hand Plane", 70, 3, 0, 0, "No. 4|No. 5|Block", N, N, "flatten and smooth boards by hand"),
            T("clamp set", "Clamps", "Bar Clamp Set", 35, 4, 0, 0, "6 inch|12 inch|24 inch", "Quick-Grip|F-Style|Pipe", "2|4|6", "hold glue-ups tight while they cure"),
            T("tape measure", "Tape Measures", "Tape Measure", 15, 5, 0, 0, "16 ft|25 ft|35 ft", N, N, "take quick, accurate measurements"),
        } },
        { "Workshop Supplies", {
            T("sandpaper", "Sandpaper", "Hook and Loop Sanding Discs", 12, 5, 1, 0, "80 Grit|120 Grit|220 Grit|Assorted Grit", N, "25|50|100", "smooth wood before the finish goes on"),
            T("wood glue", "Wood Glue", "Wood Glue", 8, 4, 1, 0, "8 oz|16 oz|1 gal", "Original|Waterproof", N, "make joints stronger than the wood itself"),
            T("drill bit set", "Drill Bits", "Drill Bit Set", 25, 5, 0, 0, N, "Titanium Coated|Cobalt|Brad Point", "21|29|75", "bore clean holes in wood and metal"),
            T("saw blade", "Saw Blades", "Circular Saw Blade", 20, 3, 1, 0, "6-1/2 inch|7-1/4 inch", "24T Framing|40T Finish|60T Fine Finish", N, "cut cleanly with carbide teeth"),
        } },
        { "Shop Storage", {
            T("workbench", "Workbenches", "Workbench", 150, 3, 0, 0, "48 inch|60 inch|72 inch", "Hardwood Top|Steel Frame", N, "give the shop a solid surface to work on"),
            T("tool chest", "Tool Chests", "Rolling Tool Chest", 160, 3, 0, 1, "5-Drawer|8-Drawer|11-Drawer", N, N, "keep tools organised and within reach"),
            T("pegboard kit", "Pegboards", "Pegboard Organizer Kit", 40, 3, 0, 1, "2 x 4 ft|4 x 4 ft", "Metal|Hardboard", N, "hang hand tools on the wall"),
            T("shop vacuum", "Shop Vacuums", "Wet/Dry Shop Vacuum", 90, 4, 0, 0, "4 Gallon|6 Gallon|12 Gallon", N, N, "pick up sawdust, chips and spills"),
        } },
    } },
    { "Garden & Outdoor", "gardening and the outdoors", {
        { "Vegetable Gardening", {
            T("raised garden bed", "Raised Beds", "Raised Garden Bed", 80, 4, 0, 0, "4 x 2 ft|4 x 4 ft|8 x 4 ft", "Cedar|Galvanized Steel", N, "keep soil warm and well drained for vegetables"),
            T("potting soil", "Potting Soils", "Organic Potting Mix", 14, 6, 1, 0, "8 qt|1 cu ft|2 cu ft", "All-Purpose|Raised Bed|Indoor", N, "feed roots and hold moisture"),
            T("seed starter kit", "Seed Starting", "Seed Starter Kit", 25, 3, 0, 0, "36 Cell|72 Cell|144 Cell", "With Humidity Dome|With Heat Mat", N, "germinate seeds indoors before transplanting"),
            T("garden hose", "Garden Hoses", "Garden Hose", 30, 4, 0, 1, "50 ft|75 ft|100 ft", "Rubber|Expandable", N, "reach every bed without kinking"),
        } },
        { "Plant Care", {
            T("plant fertilizer", "Fertilizers", "Plant Fertilizer", 12, 5, 1, 0, "8 oz|1.5 lb|4 lb", "All-Purpose|Tomato and Vegetable|Houseplant Liquid", N, "keep plants green and productive"),
            T("pruning shears", "Pruners", "Pruning Shears", 20, 4, 0, 0, N, "Bypass|Anvil", N, "make clean cuts on stems and branches"),
            T("grow light", "Grow Lights", "LED Grow Light", 40, 4, 0, 0, "45W|75W|150W", "Full Spectrum|Clip-On|Panel", N, "let plants thrive without a sunny window"),
            T("plant pots", "Planters", "Plant Pots", 25, 4, 0, 1, "4 inch|6 inch|8 inch", "Ceramic|Terracotta|Self-Watering Plastic", "2|3|5", "give houseplants a home with proper drainage"),
        } },
        { "Grilling", {
            T("charcoal grill", "Grills", "Kettle Charcoal Grill", 120, 4, 0, 1, "18 inch|22 inch|26 inch", N, N, "grill and smoke over real charcoal"),
            T("lump charcoal", "Charcoal", "Natural Lump Charcoal", 20, 5, 1, 0, "8 lb|20 lb|40 lb", "Hardwood Lump|Briquettes", N, "light fast and burn hot and clean"),
            T("grill brush", "Grill Brushes", "Grill Brush", 15, 3, 0, 0, N, "Bristle-Free|Brass Bristle", N, "scrub grates clean after a cook"),
            T("meat thermometer", "Meat Thermometers", "Meat Thermometer", 25, 4, 0, 1, N, "Instant-Read|Wireless Probe", N, "tell when the meat is done to the degree"),
        } },
        { "Camping", {
            T("tent", "Tents", "Dome Camping Tent", 120, 4, 0, 1, "2-Person|4-Person|6-Person", N, N, "keep campers dry through wind and rain"),
            T("sleeping bag", "Sleeping Bags", "Mummy Sleeping Bag", 60, 4, 0, 1, "40 Degree|20 Degree|0 Degree", "Synthetic|Down", N, "stay warm through cold nights outdoors"),
            T("camp stove", "Camp Stoves", "Camp Stove", 45, 3, 0, 0, N, "Backpacking Canister|Two-Burner Propane", N, "boil water and cook meals at camp"),
            T("fuel canister", "Stove Fuel", "Isobutane Fuel Canister", 8, 4, 1, 0, "100 g|230 g|450 g", N, "1|2|4", "fuel canister stoves even in cold weather"),
        } },
    } },
    { "Sports & Fitness", "fitness", {
        { "Home Gym", {
            T("yoga mat", "Yoga Mats", "Yoga Mat", 25, 6, 0, 1, "4 mm|6 mm|8 mm", "TPE|Natural Rubber|PVC", N, "cushion joints and grip during practice"),
            T("resistance bands", "Resistance Bands", "Resistance Bands Set", 18, 5, 0, 0, N, "Loop|Tube With Handles", "3|5", "add resistance to any bodyweight workout"),
            T("adjustable dumbbells", "Dumbbells", "Adjustable Dumbbell", 200, 4, 0, 0, "25 lb|52.5 lb|90 lb", N, N, "replace a whole rack of weights"),
            T("weight bench", "Weight Benches", "Weight Bench", 130, 3, 0, 0, N, "Flat|Adjustable|Foldable", N, "support presses, rows and step-ups"),
        } },
        { "Cycling", {
            T("bike helmet", "Bike Helmets", "Bike Helmet", 50, 4, 0, 1, "Small|Medium|Large", "MIPS|Standard", N, "protect the head on every ride"),
            T("bike light set", "Bike Lights", "Rechargeable Bike Light Set", 25, 4, 0, 0, N, "400 Lumen|800 Lumen|1200 Lumen", N, "make a rider visible at night"),
            T("bike pump", "Bike Pumps", "Bike Pump", 30, 3, 0, 0, N, "Floor|Mini Hand", N, "top up Presta and Schrader tires quickly"),
            T("inner tube", "Inner Tubes", "Bike Inner Tube", 8, 4, 1, 0, "700x25c|700x32c|29 x 2.1 inch", N, "1|2|4", "get a rider rolling again after a flat"),
        } },
        { "Running", {
            T("running shoes", "Running Shoes", "Running Shoes", 110, 6, 0, 1, "Size 8|Size 9|Size 10|Size 11", "Neutral|Stability|Trail", N, "cushion every stride on long runs"),
            T("running belt", "Running Belts", "Running Belt", 20, 3, 0, 1, N, N, N, "carry a phone and keys without bouncing"),
            T("energy gels", "Energy Gels", "Energy Gel", 25, 4, 1, 0, N, "Salted Caramel|Berry|Espresso", "12|24", "deliver quick carbs mid-run"),
            T("hydration vest", "Hydration Packs", "Running Hydration Vest", 70, 3, 0, 1, "5 L|10 L|12 L", N, N, "carry water on long trail runs"),
        } },
        { "Recovery", {
            T("foam roller", "Foam Rollers", "Foam Roller", 20, 5, 0, 1, "12 inch|18 inch|36 inch", "High-Density|Textured", N, "loosen tight muscles after training"),
            T("massage gun", "Massage Guns", "Percussion Massage Gun", 120, 4, 0, 1, N, "Mini|Standard|Pro", N, "work knots out of sore muscles"),
            T("protein powder", "Protein Powders", "Whey Protein Powder", 35, 7, 1, 0, "2 lb|5 lb", "Chocolate|Vanilla|Unflavored", N, "help muscles recover after training"),
            T("shaker bottle", "Shaker Bottles", "Shaker Bottle", 10, 4, 0, 1, "20 oz|28 oz", N, "1|2", "mix shakes without clumps"),
        } },
    } },
    { "Arts & Crafts", "arts and crafts", {
        { "Painting", {
            T("acrylic paint set", "Acrylic Paints", "Acrylic Paint Set", 25, 5, 0, 0, "12 Colors|24 Colors|48 Colors", "Student Grade|Artist Grade", N, "cover canvas, wood and paper with rich colour"),
            T("paint brush set", "Paint Brushes", "Paint Brush Set", 15, 4, 0, 0, "10-Piece|15-Piece|24-Piece", "Synthetic|Hog Bristle", N, "handle fine detail and broad washes"),
            T("canvas panels", "Canvases", "Canvas Panels", 18, 4, 1, 0, "8 x 10 inch|11 x 14 inch|16 x 20 inch", N, "6|12|24", "give a primed surface ready to paint"),
            T("easel", "Easels", "Easel", 40, 3, 0, 0, "Tabletop|Floor Standing", "Beech Wood|Aluminum", N, "hold work at a comfortable angle"),
        } },
        { "Knitting", {
            T("yarn", "Yarn", "Knitting Yarn", 12, 6, 1, 1, "Worsted Weight|Bulky Weight|Fingering Weight", "Merino Wool|Acrylic|Cotton Blend", "3|6", "knit up soft, even stitches"),
            T("knitting needles", "Knitting Needles", "Circular Knitting Needles", 20, 4, 0, 0, "US 6|US 8|Interchangeable Set", "Bamboo|Stainless Steel|Birch", N, "keep stitches moving smoothly"),
            T("stitch markers", "Stitch Markers", "Locking Stitch Markers", 6, 3, 1, 1, N, N, "50|100|200", "mark rounds and pattern repeats"),
            T("project bag", "Project Bags", "Knitting Project Bag", 22, 3, 0, 1, "Small|Medium|Large", "Canvas|Waxed Cotton", N, "keep a work in progress tidy and tangle-free"),
        } },
        { "Sewing", {
            T("sewing machine", "Sewing Machines", "Sewing Machine", 200, 4, 0, 0, N, "Mechanical|Computerized|Heavy Duty", N, "stitch garments and quilts at the push of a pedal"),
            T("thread set", "Sewing Thread", "Sewing Thread Set", 15, 4, 1, 0, N, "Polyester|Cotton", "24|36|60", "stitch strong, smooth seams"),
            T("quilting fabric", "Fabric", "Quilting Cotton Fabric", 18, 5, 1, 1, "Fat Quarter Bundle|1 Yard|5 Yards", N, N, "cut and sew cleanly for quilts and garments"),
            T("rotary cutter", "Rotary Cutters", "Rotary Cutter", 18, 3, 0, 0, "28 mm|45 mm|60 mm", N, N, "slice through layers of fabric in one pass"),
        } },
        { "Drawing", {
            T("sketchbook", "Sketchbooks", "Sketchbook", 12, 5, 1, 0, "5.5 x 8.5 inch|9 x 12 inch|11 x 14 inch", "Hardbound|Spiral Bound", N, "take pencil, ink and light washes"),
            T("graphite pencils", "Drawing Pencils", "Graphite Drawing Pencils", 12, 4, 0, 0, N, "Standard|Professional", "12|24", "range from crisp hard lines to soft dark shading"),
            T("alcohol markers", "Markers", "Alcohol Markers", 40, 4, 0, 0, "24 Colors|48 Colors|80 Colors", "Dual Tip|Brush Tip", N, "lay down smooth, streak-free colour"),
            T("drawing tablet", "Drawing Tablets", "Drawing Tablet", 80, 4, 0, 0, "6 x 4 inch|10 x 6 inch", "Pen Tablet|With Screen", N, "bring pen-and-paper control to digital art"),
        } },
    } },
    { "Home & Cleaning", "housekeeping", {
        { "Floor Care", {
            T("robot vacuum", "Robot Vacuums", "Robot Vacuum", 250, 5, 0, 1, N, "Standard|Self-Emptying|Vacuum and Mop", N, "clean floors on a schedule"),
            T("vacuum filters", "Vacuum Filters", "Replacement HEPA Filters", 15, 4, 1, 0, N, N, "2|4|6", "trap fine dust and allergens"),
            T("spin mop", "Mops", "Spin Mop and Bucket Set", 35, 4, 0, 1, N, "Spin|Flat Microfiber", N, "clean hard floors without wringing by hand"),
            T("floor cleaner", "Floor Cleaners", "Floor Cleaning Solution", 10, 5, 1, 0, "32 oz|64 oz|1 gal", "Hardwood|Multi-Surface|Tile and Stone", N, "lift grime without streaks"),
        } },
        { "Laundry", {
            T("laundry detergent", "Laundry Detergents", "Laundry Detergent", 15, 8, 1, 0, "50 oz|92 oz|150 oz", "Free and Clear|Fresh Scent|Pods", N, "remove stains in hot or cold water"),
            T("drying rack", "Drying Racks", "Clothes Drying Rack", 30, 3, 0, 0, N, "Folding|Wall-Mounted|Tower", N, "air-dry delicates and save energy"),
            T("laundry basket", "Laundry Baskets", "Laundry Basket", 20, 4, 0, 1, "Small|Large|2-Section", "Woven Cotton|Plastic|Collapsible", N, "carry loads between rooms"),
            T("lint roller", "Lint Rollers", "Lint Roller", 8, 5, 1, 0, N, N, "2|5|10", "pick pet hair and lint off clothes"),
        } },
        { "Bedding", {
            T("mattress topper", "Mattress Toppers", "Mattress Topper", 90, 4, 0, 0, "Twin|Full|Queen|King", "Gel Memory Foam|Down Alternative", N, "add a plush, supportive layer to a tired mattress"),
            T("sheet set", "Sheet Sets", "Sheet Set", 40, 5, 0, 1, "Twin|Full|Queen|King", "Cotton Percale|Sateen|Microfiber|Linen", N, "keep sleep cool and soft"),
            T("bed pillow", "Pillows", "Bed Pillow", 30, 5, 0, 0, "Standard|Queen|King", "Shredded Memory Foam|Down Alternative|Latex", "1|2", "support the neck through the night"),
            T("duvet insert", "Comforters", "Duvet Insert", 60, 4, 0, 0, "Twin|Full/Queen|King", "All-Season|Lightweight|Winter Weight", N, "keep a bed warm without weight"),
        } },
        { "Home Organization", {
            T("storage bins", "Storage Bins", "Storage Bins", 20, 5, 0, 1, "Small|Medium|Large", "Fabric|Clear Plastic", "3|6", "corral clutter on shelves and in closets"),
            T("shelving unit", "Shelving", "Shelving Unit", 70, 4, 0, 1, "3-Tier|4-Tier|5-Tier", "Steel Wire|Wood", N, "add storage to garages and closets"),
            T("drawer organizer", "Drawer Organizers", "Drawer Organizer Set", 15, 4, 0, 0, N, "Bamboo|Clear Acrylic|Plastic", "4|8|12", "keep small things sorted"),
            T("label maker", "Label Makers", "Label Maker", 35, 3, 0, 1, N, "Handheld|Bluetooth", N, "print crisp labels for bins and files"),
        } },
    } },
    { "Office & Streaming", "the home office and streaming", {
        { "Home Office", {
            T("standing desk", "Desks", "Electric Standing Desk", 300, 4, 0, 1, "48 x 24 inch|55 x 28 inch|63 x 30 inch", N, N, "switch between sitting and standing at the push of a button"),
            T("office chair", "Office Chairs", "Ergonomic Office Chair", 180, 5, 0, 1, N, "Mesh|Leather|Fabric", N, "support the back through long work days"),
            T("monitor arm", "Monitor Mounts", "Monitor Arm", 50, 4, 0, 0, N, "Single|Dual|Gas Spring", N, "free desk space and set the screen at eye level"),
            T("desk lamp", "Desk Lamps", "LED Desk Lamp", 35, 4, 0, 1, N, "Dimmable|With Wireless Charger|Architect", N, "light the workspace without glare"),
        } },
        { "Keyboards & Mice", {
            T("mechanical keyboard", "Keyboards", "Mechanical Keyboard", 90, 6, 0, 1, "60 Percent|Tenkeyless|Full Size", "Red Switches|Brown Switches|Blue Switches", N, "type with crisp, tactile keystrokes"),
            T("keycap set", "Keycaps", "PBT Keycap Set", 40, 3, 0, 1, N, "Cherry Profile|OEM Profile|XDA Profile", N, "give a keyboard a fresh look and feel"),
            T("wireless mouse", "Mice", "Wireless Mouse", 40, 5, 0, 1, N, "Ergonomic|Gaming|Compact", N, "track precisely on any surface"),
            T("desk mat", "Mouse Pads", "Extended Desk Mat", 18, 4, 0, 1, "31.5 x 11.8 inch|35.4 x 15.7 inch", N, N, "give keyboard and mouse a smooth surface"),
        } },
        { "Podcasting", {
            T("USB microphone", "Microphones", "USB Condenser Microphone", 100, 5, 0, 1, N, "Cardioid|Multi-Pattern", N, "record clear voice straight into a computer"),
            T("boom arm", "Microphone Stands", "Microphone Boom Arm", 30, 3, 0, 0, N, "Low Profile|Heavy Duty", N, "hold the mic in place above the desk"),
            T("pop filter", "Pop Filters", "Pop Filter", 12, 3, 0, 0, N, "Dual Layer Mesh|Metal", N, "tame plosives in spoken recordings"),
            T("closed-back headphones", "Headphones", "Closed-Back Headphones", 90, 5, 0, 1, N, "Wired|Wireless", N, "monitor audio without bleeding into the mic"),
        } },
        { "Streaming", {
            T("webcam", "Webcams", "Webcam", 70, 5, 0, 0, N, "1080p|4K", N, "stream a sharp picture in any light"),
            T("ring light", "Ring Lights", "LED Ring Light", 35, 4, 0, 0, "10 inch|12 inch|18 inch", N, N, "light faces evenly on camera"),
            T("capture card", "Capture Cards", "HDMI Capture Card", 120, 3, 0, 0, N, "USB|PCIe Internal", N, "bring console gameplay into streaming software"),
            T("green screen", "Backdrops", "Collapsible Green Screen", 90, 2, 0, 0, "5 x 6 ft|6 x 7 ft", N, N, "key out the background cleanly"),
        } },
    } },
    { "Musical Instruments", "music", {
        { "Guitars", {
            T("acoustic guitar", "Acoustic Guitars", "Acoustic Guitar", 250, 5, 0, 1, "3/4 Size|Concert|Dreadnought", "Spruce Top|Mahogany Top", N, "play warm, full chords"),
            T("guitar strings", "Guitar Strings", "Acoustic Guitar Strings", 10, 6, 1, 0, "Extra Light|Light|Medium", "Phosphor Bronze|80/20 Bronze", "1|3", "sound bright and stay in tune"),
            T("guitar picks", "Guitar Picks", "Guitar Picks", 6, 4, 1, 1, "Thin|Medium|Heavy", N, "12|24|72", "give a steady, controlled attack"),
            T("capo", "Capos", "Guitar Capo", 15, 4, 0, 1, N, "Trigger|Screw Clamp", N, "change key without retuning"),
        } },
        { "Guitar Accessories", {
            T("clip-on tuner", "Tuners", "Clip-On Guitar Tuner", 15, 5, 0, 1, N, N, N, "get every string in tune in seconds"),
            T("guitar strap", "Straps", "Guitar Strap", 18, 3, 0, 1, N, "Leather|Cotton|Nylon", N, "hold the guitar comfortably while standing"),
            T("gig bag", "Gig Bags", "Padded Guitar Gig Bag", 40, 3, 0, 0, "Acoustic|Classical|Electric", N, N, "protect the guitar on the move"),
            T("guitar amp", "Amplifiers", "Practice Guitar Amp", 120, 3, 0, 0, "10W|20W|40W", N, N, "give an electric guitar its voice at home"),
        } },
        { "Home Recording", {
            T("audio interface", "Audio Interfaces", "USB Audio Interface", 150, 4, 0, 0, N, "2-in/2-out|4-in/4-out", N, "record instruments and mics in studio quality"),
            T("studio monitors", "Studio Monitors", "Studio Monitor Speakers", 200, 3, 0, 0, "3.5 inch|5 inch|8 inch", N, N, "play back mixes honestly"),
            T("studio headphones", "Studio Headphones", "Studio Monitor Headphones", 100, 4, 0, 0, N, "Closed-Back|Open-Back", N, "reveal detail while tracking and mixing"),
            T("XLR cable", "Cables", "XLR Microphone Cable", 12, 4, 0, 0, "6 ft|10 ft|25 ft", N, "1|2|3", "carry a balanced signal without hum"),
        } },
        { "Keyboards & Pianos", {
            T("digital piano", "Digital Pianos", "88-Key Digital Piano", 450, 4, 0, 1, N, "Weighted Hammer Action|Semi-Weighted", N, "feel and sound like an acoustic piano"),
            T("piano bench", "Piano Benches", "Adjustable Piano Bench", 60, 3, 0, 0, N, "Padded|Wood", N, "set the right height for good posture"),
            T("sustain pedal", "Sustain Pedals", "Sustain Pedal", 20, 4, 0, 0, N, "Piano Style|Universal", N, "let notes ring like an acoustic piano"),
            T("keyboard stand", "Keyboard Stands", "Keyboard Stand", 30, 3, 0, 0, N, "X-Style|Z-Style|Table Style", N, "hold the instrument steady at the right height"),
        } },
    } },
};

#undef T
#undef N

/* name, department, tier, categories (bit c = category c), title style, model prefix, personality */
const demo_brand_def demo_brands[] = {
    /* Pet Supplies */
    { "PawPantry", 0, 0, 0xF, 2, "PP", "sells no-frills pet basics in value sizes" },
    { "Aquaverde", 0, 1, 0x3, 0, "AV", "builds beginner-friendly aquarium gear" },
    { "FinCrest", 0, 2, 0x3, 1, "FC", "makes aquarium equipment for serious hobbyists" },
    { "TidyTail", 0, 1, 0xC, 0, "TT", "designs practical, easy-clean products for dogs and cats" },
    { "Barkwell", 0, 2, 0xC, 1, "BW", "makes premium pet food and orthopedic gear" },
    { "ValuPet", 0, 0, 0x5, 2, "VP", "keeps prices low on everyday pet supplies" },
    /* 3D Printing & Electronics */
    { "Layerline", 1, 0, 0xF, 2, "LL", "makes budget printers and filament for tinkerers" },
    { "Printforge", 1, 1, 0x7, 0, "PF", "is known for reliable, well-tuned printing gear" },
    { "Voxelcraft", 1, 2, 0x3, 1, "VX", "builds high-end printers and engineering-grade materials" },
    { "NozzleNest", 1, 0, 0x6, 2, "NN", "sells inexpensive spare parts and filament" },
    { "Solderix", 1, 1, 0x8, 0, "SX", "makes dependable electronics bench tools" },
    { "Ohmworks", 1, 2, 0xC, 1, "OW", "makes precision tools for professional makers" },
    /* Kitchen & Coffee */
    { "Kettlebrook", 2, 0, 0xF, 2, "KB", "makes affordable kitchen essentials" },
    { "BeanWise", 2, 1, 0x3, 0, "BN", "focuses on home coffee brewing done right" },
    { "Crema Casa", 2, 2, 0x3, 1, "CC", "builds cafe-grade espresso equipment for the home" },
    { "Ironhearth", 2, 1, 0xC, 0, "IH", "forges sturdy cookware and bakeware" },
    { "Copperleaf", 2, 2, 0xC, 1, "CL", "makes heirloom-quality cookware" },
    { "HomeChef Basics", 2, 0, 0x6, 2, "HC", "keeps the pantry and kitchen stocked for less" },
    /* Tools & Workshop */
    { "HandyMate", 3, 0, 0xF, 2, "HM", "sells budget tools for occasional DIY" },
    { "Brixton Tool", 3, 1, 0x5, 0, "BT", "makes solid tools for serious DIYers" },
    { "Torqline", 3, 2, 0x5, 1, "TQ", "builds professional-grade cordless power tools" },
    { "Grainworks", 3, 2, 0xA, 1, "GW", "makes fine hand tools and shop fittings for woodworkers" },
    { "Shopwright", 3, 1, 0xA, 0, "SW", "outfits home workshops with practical storage and supplies" },
    { "BuildRite", 3, 0, 0x9, 2, "BR", "sells contractor-pack supplies at low prices" },
    /* Garden & Outdoor */
    { "Sproutly", 4, 0, 0xF, 2, "SP", "sells cheerful, inexpensive garden and outdoor basics" },
    { "Greenfurrow", 4, 1, 0x3, 0, "GF", "makes organic growing supplies for home gardeners" },
    { "Cedar & Stone", 4, 2, 0x7, 1, "CS", "crafts premium garden beds, tools and grills" },
    { "Emberline", 4, 1, 0x4, 0, "EL", "specialises in charcoal grilling" },
    { "Trailpeak", 4, 2, 0x8, 1, "TP", "builds lightweight expedition camping gear" },
    { "CampThrift", 4, 1, 0x8, 2, "CT", "makes dependable camping gear for weekend trips" },
    /* Sports & Fitness */
    { "FlexFit", 5, 0, 0xF, 2, "FF", "sells affordable fitness basics" },
    { "Corelift", 5, 1, 0x9, 0, "CR", "designs compact home-gym and recovery equipment" },
    { "Ironpulse", 5, 2, 0x9, 1, "IP", "builds premium strength and recovery gear" },
    { "Stridewell", 5, 1, 0x6, 0, "SD", "makes comfortable running and cycling gear" },
    { "Velocita", 5, 2, 0x6, 1, "VL", "makes performance gear for racers" },
    { "PedalPal", 5, 0, 0x2, 2, "PL", "sells budget cycling accessories" },
    /* Arts & Crafts */
    { "ArtPal", 6, 0, 0xF, 2, "AP", "sells starter art and craft supplies at low prices" },
    { "Inkwell Studio", 6, 1, 0x9, 0, "IW", "makes quality paints and drawing supplies for students" },
    { "Atelier Nova", 6, 2, 0x9, 1, "AN", "makes artist-grade materials" },
    { "Woolery & Co.", 6, 1, 0x6, 0, "WC", "makes natural-fibre yarn and sewing notions" },
    { "StitchCraft", 6, 2, 0x6, 1, "SC", "builds premium sewing machines and knitting tools" },
    { "Craftsy Lane", 6, 0, 0x6, 2, "CY", "sells value bundles for crafters" },
    /* Home & Cleaning */
    { "CleanBasics", 7, 0, 0xF, 2, "CB", "sells low-cost cleaning and home basics" },
    { "Dustaway", 7, 2, 0x3, 1, "DA", "builds premium smart cleaning devices" },
    { "Neatnest", 7, 1, 0xB, 0, "NT", "designs tidy, practical home and laundry products" },
    { "Slumberloft", 7, 2, 0x4, 1, "SL", "makes luxury bedding" },
    { "Homestead Linens", 7, 1, 0x4, 0, "HL", "makes comfortable everyday bedding" },
    { "Storabox", 7, 2, 0x8, 1, "SB", "designs premium storage systems" },
    /* Office & Streaming */
    { "OfficeEase", 8, 0, 0xF, 2, "OE", "sells budget home-office and streaming gear" },
    { "Deskcraft", 8, 2, 0x3, 1, "DC", "builds premium ergonomic workspaces" },
    { "KeyForge", 8, 1, 0x3, 0, "KF", "makes enthusiast keyboards and desk accessories" },
    { "Voxa Audio", 8, 2, 0xC, 1, "VA", "makes broadcast-quality microphones and streaming gear" },
    { "StreamPeak", 8, 1, 0xC, 0, "SK", "makes plug-and-play creator equipment" },
    { "ClickMate", 8, 0, 0x6, 2, "CM", "sells inexpensive peripherals" },
    /* Musical Instruments */
    { "TuneMate", 9, 0, 0xF, 2, "TM", "sells affordable instruments and accessories for beginners" },
    { "Fretline", 9, 1, 0x3, 0, "FL", "makes well-set-up guitars and accessories" },
    { "Harmonia", 9, 2, 0x9, 1, "HA", "crafts premium guitars and pianos" },
    { "Echofield Audio", 9, 1, 0xC, 0, "EF", "makes home-studio recording gear" },
    { "Studio Nine", 9, 2, 0x6, 1, "SN", "builds professional studio equipment" },
    { "Keystone Music", 9, 0, 0x9, 2, "KM", "sells budget keyboards and strings" },
};
const int demo_n_brands = (int)(sizeof demo_brands / sizeof demo_brands[0]);

/* key, name, label, weight, steps { type, stage, skip % } */
const demo_intent_def demo_intents[] = {
    { "aquarium", "setting up a freshwater aquarium", "aquarium build", 6,
      { { "aquarium tank", 0, 0 }, { "aquarium filter", 1, 0 }, { "aquarium heater", 1, 10 }, { "aquarium gravel", 1, 40 },
        { "water conditioner", 2, 0 }, { "aquarium test strips", 2, 50 }, { "fish food", 3, 0 }, { "algae scraper", 3, 50 } } },
    { "puppy", "bringing home a new puppy", "new-puppy setup", 6,
      { { "dog leash", 0, 0 }, { "dog bed", 0, 20 }, { "dog food", 1, 0 }, { "dog chew toy", 1, 30 }, { "lint roller", 2, 60 } } },
    { "cat", "settling in a new cat", "new-cat setup", 6,
      { { "litter box", 0, 0 }, { "cat litter", 1, 0 }, { "cat food", 1, 0 }, { "cat scratching post", 2, 30 }, { "lint roller", 3, 60 } } },
    { "fdm", "getting started with 3D printing", "3D printing setup", 7,
      { { "FDM 3D printer", 0, 0 }, { "PLA filament", 1, 0 }, { "build plate", 2, 40 }, { "nozzle kit", 2, 30 },
        { "PETG filament", 3, 50 }, { "filament dryer", 3, 60 } } },
    { "resin", "getting into resin miniature printing", "resin printing setup", 4,
      { { "resin 3D printer", 0, 0 }, { "3D printing resin", 1, 0 }, { "wash and cure station", 2, 20 },
        { "acrylic paint set", 3, 50 }, { "paint brush set", 3, 50 } } },
    { "printmods", "upgrading and tuning a 3D printer", "printer upgrade", 4,
      { { "extruder upgrade", 0, 0 }, { "printer belt", 0, 30 }, { "nozzle kit", 1, 0 }, { "build plate", 1, 40 },
        { "TPU filament", 2, 30 } } },
    { "solder", "learning to solder electronics", "electronics bench", 5,
      { { "soldering iron", 0, 0 }, { "solder wire", 1, 0 }, { "helping hands", 1, 30 }, { "multimeter", 2, 20 } } },
    { "espresso", "building a home espresso setup", "espresso corner", 7,
      { { "espresso machine", 0, 0 }, { "burr grinder", 1, 0 }, { "espresso tamper", 2, 30 }, { "milk frother", 2, 40 },
        { "coffee beans", 3, 0 }, { "descaling solution", 4, 40 } } },
    { "pourover", "brewing pour-over coffee at home", "pour-over routine", 5,
      { { "pour-over dripper", 0, 0 }, { "paper filters", 1, 0 }, { "burr grinder", 1, 40 }, { "coffee beans", 2, 0 } } },
    { "castiron", "cooking with cast iron", "cast-iron kitchen", 5,
      { { "cast iron skillet", 0, 0 }, { "chef's knife", 1, 30 }, { "cutting board", 1, 30 }, { "dutch oven", 2, 40 },
        { "meat thermometer", 2, 50 } } },
    { "sourdough", "baking sourdough bread", "sourdough baking", 5,
      { { "bread flour", 0, 0 }, { "proofing basket", 1, 0 }, { "dutch oven", 1, 30 }, { "stand mixer", 2, 60 },
        { "baking sheet", 2, 50 } } },
    { "woodwork", "taking up hand-tool woodworking", "woodworking bench", 5,
      { { "workbench", 0, 20 }, { "clamp set", 1, 0 }, { "chisel set", 1, 20 }, { "hand plane", 2, 30 }, { "wood glue", 2, 0 },
        { "sandpaper", 3, 0 } } },
    { "powertools", "kitting out a power-tool workshop", "power-tool kit", 6,
      { { "cordless drill", 0, 0 }, { "drill bit set", 1, 0 }, { "impact driver", 1, 40 }, { "circular saw", 2, 0 },
        { "saw blade", 3, 0 }, { "random orbit sander", 3, 40 }, { "sandpaper", 4, 30 } } },
    { "shoporg", "organising the workshop", "shop organisation", 3,
      { { "pegboard kit", 0, 0 }, { "tool chest", 0, 30 }, { "shop vacuum", 1, 20 }, { "storage bins", 1, 50 },
        { "tape measure", 2, 50 } } },
    { "vegetables", "starting a vegetable garden", "vegetable garden", 6,
      { { "raised garden bed", 0, 0 }, { "potting soil", 1, 0 }, { "seed starter kit", 1, 30 }, { "garden hose", 2, 30 },
        { "plant fertilizer", 2, 20 }, { "pruning shears", 3, 50 } } },
    { "houseplants", "caring for houseplants", "houseplant collection", 5,
      { { "plant pots", 0, 0 }, { "potting soil", 1, 0 }, { "grow light", 2, 30 }, { "plant fertilizer", 2, 0 },
        { "pruning shears", 3, 60 } } },
    { "grilling", "getting into charcoal grilling", "backyard grill", 5,
      { { "charcoal grill", 0, 0 }, { "lump charcoal", 1, 0 }, { "grill brush", 2, 30 }, { "meat thermometer", 2, 20 } } },
    { "camping", "gearing up for camping trips", "camping kit", 5,
      { { "tent", 0, 0 }, { "sleeping bag", 1, 0 }, { "camp stove", 2, 20 }, { "fuel canister", 3, 0 } } },
    { "homegym", "setting up a home gym", "home gym", 7,
      { { "yoga mat", 0, 30 }, { "resistance bands", 0, 30 }, { "adjustable dumbbells", 1, 0 }, { "weight bench", 2, 20 },
        { "protein powder", 3, 0 }, { "shaker bottle", 3, 40 } } },
    { "bikecommute", "commuting by bike", "bike commute", 5,
      { { "bike helmet", 0, 0 }, { "bike light set", 1, 0 }, { "bike pump", 1, 30 }, { "inner tube", 2, 0 } } },
    { "running", "training for a race", "race training", 5,
      { { "running shoes", 0, 0 }, { "running belt", 1, 40 }, { "energy gels", 2, 0 }, { "hydration vest", 2, 50 },
        { "foam roller", 3, 40 } } },
    { "recovery", "building a recovery routine", "recovery routine", 3,
      { { "foam roller", 0, 0 }, { "massage gun", 1, 30 }, { "protein powder", 1, 30 }, { "yoga mat", 2, 40 },
        { "shaker bottle", 2, 50 } } },
    { "acrylics", "learning acrylic painting", "painting practice", 5,
      { { "acrylic paint set", 0, 0 }, { "paint brush set", 1, 0 }, { "canvas panels", 1, 0 }, { "easel", 2, 40 } } },
    { "knitting", "picking up knitting", "knitting project", 5,
      { { "knitting needles", 0, 0 }, { "yarn", 1, 0 }, { "stitch markers", 2, 30 }, { "project bag", 2, 40 } } },
    { "sewing", "learning to sew and quilt", "sewing room", 4,
      { { "sewing machine", 0, 0 }, { "thread set", 1, 0 }, { "quilting fabric", 1, 0 }, { "rotary cutter", 2, 30 } } },
    { "sketching", "practising drawing", "drawing practice", 4,
      { { "sketchbook", 0, 0 }, { "graphite pencils", 1, 0 }, { "alcohol markers", 2, 40 }, { "drawing tablet", 3, 50 } } },
    { "robotvac", "automating the floor cleaning", "floor-care routine", 5,
      { { "robot vacuum", 0, 0 }, { "vacuum filters", 1, 0 }, { "floor cleaner", 2, 30 }, { "spin mop", 2, 40 } } },
    { "laundry", "sorting out the laundry routine", "laundry routine", 4,
      { { "laundry detergent", 0, 0 }, { "drying rack", 1, 30 }, { "laundry basket", 1, 30 }, { "lint roller", 2, 40 } } },
    { "bedroom", "refreshing the bedroom", "bedroom refresh", 5,
      { { "mattress topper", 0, 0 }, { "sheet set", 1, 0 }, { "bed pillow", 1, 20 }, { "duvet insert", 2, 30 } } },
    { "declutter", "decluttering and organising the home", "home organisation", 4,
      { { "storage bins", 0, 0 }, { "shelving unit", 1, 0 }, { "drawer organizer", 1, 30 }, { "label maker", 2, 30 } } },
    { "homeoffice", "setting up a home office", "home office", 7,
      { { "standing desk", 0, 0 }, { "office chair", 1, 0 }, { "monitor arm", 2, 30 }, { "desk lamp", 2, 30 },
        { "desk mat", 3, 40 } } },
    { "keyboards", "getting into mechanical keyboards", "keyboard hobby", 5,
      { { "mechanical keyboard", 0, 0 }, { "keycap set", 1, 0 }, { "desk mat", 2, 30 }, { "wireless mouse", 2, 40 } } },
    { "podcast", "starting a podcast", "podcast setup", 5,
      { { "USB microphone", 0, 0 }, { "boom arm", 1, 0 }, { "pop filter", 1, 20 }, { "closed-back headphones", 2, 30 } } },
    { "streaming", "starting to stream", "streaming setup", 5,
      { { "webcam", 0, 0 }, { "ring light", 1, 0 }, { "capture card", 1, 40 }, { "green screen", 2, 40 },
        { "USB microphone", 2, 50 } } },
    { "guitar", "learning the guitar", "guitar lessons", 6,
      { { "acoustic guitar", 0, 0 }, { "clip-on tuner", 1, 0 }, { "guitar picks", 1, 20 }, { "capo", 2, 30 },
        { "guitar strings", 2, 0 }, { "gig bag", 3, 40 }, { "guitar strap", 3, 50 } } },
    { "recording", "building a home recording studio", "home studio", 4,
      { { "audio interface", 0, 0 }, { "studio headphones", 1, 0 }, { "studio monitors", 1, 30 }, { "XLR cable", 2, 20 } } },
    { "piano", "learning the piano", "piano practice", 4,
      { { "digital piano", 0, 0 }, { "sustain pedal", 1, 20 }, { "piano bench", 1, 30 }, { "keyboard stand", 1, 40 } } },
};
const int demo_n_intents = (int)(sizeof demo_intents / sizeof demo_intents[0]);

const char *const demo_colors[] = {
    "Black", "White", "Gray", "Navy Blue", "Red", "Forest Green", "Teal", "Charcoal",
    "Orange", "Purple", "Beige", "Silver", "Pink", "Yellow", "Sky Blue", "Olive",
};
const int demo_n_colors = (int)(sizeof demo_colors / sizeof demo_colors[0]);

const char *const demo_tier_names[3] = { "budget", "mid-range", "premium" };

/* ---- lookups ---------------------------------------------------------------- */

const demo_type_def *demo_type(int type)
{
    return &demo_depts[type / (DEMO_CATS * DEMO_TYPES)].cats[type / DEMO_TYPES % DEMO_CATS].types[type % DEMO_TYPES];
}

int demo_type_dept(int type) { return type / (DEMO_CATS * DEMO_TYPES); }
int demo_type_cat(int type) { return type / DEMO_TYPES; }
const char *demo_cat_name(int cat) { return demo_depts[cat / DEMO_CATS].cats[cat % DEMO_CATS].name; }

int demo_list_n(const char *list)
{
    if (!list || !*list) return 0;
    int n = 1;
    for (const char *p = list; *p; p++) n += *p == '|';
    return n;
}

const char *demo_list_get(const char *list, int i, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!list || i < 0) return buf;
    const char *p = list;
    for (int k = 0; k < i && p; k++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p) return buf;
    const char *e = strchr(p, '|');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n >= cap) n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return buf;
}

/* ---- names for the public API ------------------------------------------------- */

static char type_paths[DEMO_N_TYPES][160];
static pthread_once_t type_paths_once = PTHREAD_ONCE_INIT;

static void type_paths_init(void)
{
    for (int t = 0; t < DEMO_N_TYPES; t++)
        snprintf(type_paths[t], sizeof type_paths[t], "%s > %s > %s", demo_depts[demo_type_dept(t)].name,
                 demo_cat_name(demo_type_cat(t)), demo_type(t)->plural);
}

const char *sidr_demo_type_name(int type)
{
    return type >= 0 && type < DEMO_N_TYPES ? demo_type(type)->name : "?";
}

const char *sidr_demo_type_path(int type)
{
    if (type < 0 || type >= DEMO_N_TYPES) return "?";
    pthread_once(&type_paths_once, type_paths_init);
    return type_paths[type];
}

const char *sidr_demo_intent_key(int intent)
{
    return intent >= 0 && intent < demo_n_intents ? demo_intents[intent].key : "?";
}

const char *sidr_demo_intent_name(int intent)
{
    return intent >= 0 && intent < demo_n_intents ? demo_intents[intent].name : "?";
}

const char *sidr_demo_kind_name(int kind)
{
    static const char *const names[4] = { "step", "upgrade", "refill", "noise" };
    return kind >= 0 && kind < 4 ? names[kind] : "?";
}
